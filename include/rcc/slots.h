// Slots: a hard per-key maximum for concurrent scale-ups, on DynamoDB without transactions or locks
// (docs/counting.md "Taking slots", docs/table-contract.md 8).
//
// Each key has a lease item holding a version and one grant entry per decision (holder id -> {count,
// until_ms}). A decision never waits for another:
//
//   1. take_slots: count the key with the RunnerCountReader (cache when fresh, else EC2), read the lease
//      (Store::get_lease: version v and the grants); in_flight = the sum of the entries valid when the
//      count was read (until_ms > t0), counted = count + in_flight, allowed = max(0, min(wanted, maximum - counted));
//   2. when allowed > 0, write the grant {allowed, now + lease_ms} in one conditional write that requires
//      the version still to be v and moves it to v + 1 (Store::grant_slots). When another decision granted
//      first, the write fails: read the lease again and decide again at once, counting again only when
//      the count is older than settle_ms / 2; give up after wait_ms;
//   3. the caller launches at most `allowed` runners and registers them (rcc/registration.h);
//   4. release_slots: replace the grant by {launched, now + settle_ms}, or remove it when nothing was
//      launched (Store::settle_grant): the launches are counted by the later decisions until the count
//      surely shows them.
//
// The versions order the grants: each grant was decided on every earlier grant, and every launch is in
// the count or in an entry still valid. While the cache is fresh, no two decisions overshoot the maximum.
// The limits are spelled out in docs/counting.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rcc/env.h"
#include "rcc/reader.h"
#include "rcc/runner.h"
#include "rcc/status.h"
#include "rcc/store.h"

namespace rcc {

struct SlotOptions {
  std::int64_t lease_ms = 30000;      // how long a grant reserves its slots (launch and registration included)
  std::int64_t settle_ms = 2000;      // how long a decision's launches are counted from its entry after
                                      // release, until the count surely shows them: covers the index's lag
                                      // behind a registration; raise it to cover event delivery when
                                      // launches are not registered. A count older than settle_ms / 2 is
                                      // read again before a retried decision.
  std::int64_t wait_ms = 10000;       // how long take_slots keeps retrying after conflicts; 0: one attempt
  std::int64_t ttl_seconds = 86400;   // TTL_SECONDS: a lease item expires this long after its last grant
};

// InvalidArgument naming the field unless lease_ms > 0, settle_ms >= 0, wait_ms >= 0 and ttl_seconds > 0.
Status validate_slot_options(const SlotOptions& options);

// A new random holder id (16 hex digits), distinct for every call with overwhelming probability.
std::string new_holder_id();

// The answer of one decision. `allowed` slots are the holder's until release_slots() or expires_ms.
struct SlotGrant {
  RunnerKey key;
  std::string holder;
  std::int64_t maximum = 0;
  std::int64_t wanted = 0;
  CountAnswer count;                 // the reader's answer the decision used
  std::int64_t in_flight = 0;        // the other decisions' entries still valid at the decision
  std::int64_t counted = 0;          // count.count + in_flight
  std::int64_t allowed = 0;          // max(0, min(wanted, maximum - counted))
  std::int64_t expires_ms = 0;       // the grant reserves `allowed` until then; 0 when nothing was written
  std::int64_t version = 0;          // the lease's version after the grant (as read when nothing was written)
  int attempts = 0;                  // decisions made: lease reads (1 when no other decision came between)
  int conflicts = 0;                 // grant writes that failed because another decision granted first
  int counts = 0;                    // count reads (1 unless a retry found the count too old)
  std::int64_t elapsed_ms = 0;       // wall time from the call to the answer
};

// Steps 1-2 above for `key` with `maximum` runners at most, asking for `wanted` (>= 0) more. Uses `store`
// for the lease and `reader` for the count (the reader must not memoize: memo_ttl_ms == 0); `env` for the
// wall clock (grant expiries are compared across processes).
// Returns the grant; when allowed is 0 nothing was written (expires_ms 0; releasing it sends nothing).
// A holder id names one decision: taking again with a holder whose entry is still valid keeps that
// entry's count in the new one.
// Errors: InvalidArgument for a bad key, maximum outside 0..GrantEntry::kMaxCount, wanted < 0, an empty
// holder, bad options or a memoizing reader (no request made); Timeout when other decisions kept granting first for wait_ms; the
// store's error when a lease read or write failed; the reader's error when the count failed (nothing was
// written, nothing to release).
// Thread-compatible: one thread at a time for `store` and `reader`.
Result<SlotGrant> take_slots(Store& store, RunnerCountReader& reader, const RunnerKey& key, std::int64_t maximum,
                             std::int64_t wanted, const std::string& holder, const SlotOptions& options,
                             Env* env = Env::Default());

enum class ReleaseOutcome {
  kReleased,  // the holder's entry was there; its launches are recorded for the next decisions
  kLost,      // the entry was gone: it ran out long ago and a later grant removed it, or it was released
              // already. When launches were made after the entry ran out, a
              // concurrent decision may have overshot. Reported, not an error.
};

// "released" / "lost".
std::string_view release_outcome_name(ReleaseOutcome outcome);

// Step 4 for a grant at `now_ms`: one conditional write replacing the holder's entry by {launched,
// now_ms + settle_ms}, or removing it when launched is 0 (Store::settle_grant). The lease's version stays:
// the write only lowers a reservation.
// A grant of 0 slots (expires_ms 0) has no entry: nothing is sent, kReleased.
// Errors: InvalidArgument for launched < 0 or launched > the grant's allowed; the store's error when the
// write failed (the grant then runs out by itself at expires_ms).
Result<ReleaseOutcome> release_slots(Store& store, const SlotGrant& grant, std::int64_t launched,
                                     const SlotOptions& options, std::int64_t now_ms);

// Step 4 from another process that kept only the holder id (rcc register --release, rcc slots release):
// the same single write. Errors as above (launched is not checked against the grant), plus
// InvalidArgument for a bad key or an empty holder.
Result<ReleaseOutcome> release_slots(Store& store, const RunnerKey& key, const std::string& holder,
                                     std::int64_t launched, const SlotOptions& options, std::int64_t now_ms);

}  // namespace rcc
