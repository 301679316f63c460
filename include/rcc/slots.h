// Slots: a hard per-key maximum for concurrent scale-ups, on DynamoDB without transactions
// (docs/counting.md "Taking slots", docs/table-contract.md 8).
//
// Every decision for one key runs under the key's slot lease, a single item taken and released with
// conditional writes (Store::take_lease / release_lease), so decisions for a key happen one at a time:
//
//   1. take_slots: take the lease (holder, expiry now + lease_ms); when another holder has it, wait and
//      try again until wait_ms has passed (an expired lease is taken over, so a crashed holder blocks the
//      key for at most lease_ms);
//   2. under the lease, count the key with the RunnerCountReader (cache when fresh, else EC2) and add the
//      runners earlier decisions launched within the last settle_ms (the lease's `recent` entries): the
//      index or EC2 may not show them yet, so counted = count + in_flight;
//   3. allowed = min(wanted, maximum - counted), never below 0;
//   4. the caller launches at most `allowed` runners and registers them (rcc/registration.h);
//   5. release_slots: release the lease, adding {launched, now + settle_ms} to `recent` and dropping the
//      entries that have run out.
//
// While the cache is fresh, every launch shows in the count within settle_ms and the lease is held
// throughout, no two decisions overshoot the maximum. The limits are spelled out in docs/counting.md.
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
  std::int64_t lease_ms = 30000;      // how long one decision may hold the key (launch and register included)
  std::int64_t settle_ms = 2000;      // how long a decision's launches are counted from the lease, until
                                      // the count surely shows them: covers the index's lag behind a
                                      // registration; raise it to cover event delivery when launches are
                                      // not registered
  std::int64_t wait_ms = 10000;       // how long take_slots keeps trying a busy lease; 0: one attempt
  std::int64_t retry_ms = 50;         // first pause between attempts; doubles up to 1000 ms, with jitter
  std::int64_t ttl_seconds = 86400;   // TTL_SECONDS: a lease item expires this long after its last use
};

// InvalidArgument naming the field unless lease_ms > 0, settle_ms >= 0, wait_ms >= 0, retry_ms > 0 and
// ttl_seconds > 0.
Status validate_slot_options(const SlotOptions& options);

// A new random holder id (16 hex digits), distinct for every call with overwhelming probability.
std::string new_holder_id();

// The answer of one decision. `allowed` slots are the holder's until release_slots() or expires_ms.
struct SlotGrant {
  RunnerKey key;
  std::string holder;
  std::int64_t maximum = 0;
  std::int64_t wanted = 0;
  CountAnswer count;                 // the reader's answer, read under the lease
  std::int64_t in_flight = 0;        // runners earlier decisions launched within settle_ms
  std::int64_t counted = 0;          // count.count + in_flight
  std::int64_t allowed = 0;          // max(0, min(wanted, maximum - counted))
  std::int64_t expires_ms = 0;       // the lease is this decision's until then
  std::vector<RecentLaunch> recent;  // the lease's entries still running at the decision
  int attempts = 0;                  // lease writes made (1 when the lease was free at once)
  std::int64_t waited_ms = 0;        // time spent waiting for a busy lease
};

// Steps 1-3 above for `key` with `maximum` runners at most, asking for `wanted` (>= 0) more. Uses `store`
// for the lease and `reader` for the count (the reader must not memoize: memo_ttl_ms == 0); `env` for the
// wall clock (lease expiries are compared across processes), the pauses between attempts and their
// jitter (a VirtualEnv in tests and the simulator).
// Returns the grant, holding the lease, even when allowed is 0 (release it all the same).
// Errors: InvalidArgument for a bad key, maximum < 0, wanted < 0, an empty holder, bad options or a
// memoizing reader (no request made); Timeout when the lease stayed busy for wait_ms; the store's error
// when a lease write failed; the reader's error when the count failed (the lease is released first with
// its entries unchanged; a failure of that release is added to the message).
// Thread-compatible: one thread at a time for `store` and `reader`.
Result<SlotGrant> take_slots(Store& store, RunnerCountReader& reader, const RunnerKey& key, std::int64_t maximum,
                             std::int64_t wanted, const std::string& holder, const SlotOptions& options,
                             Env* env = Env::Default());

enum class ReleaseOutcome {
  kReleased,  // the lease was this holder's; its launches are recorded for the next decisions
  kLost,      // the lease expired and another holder took it (or it was released already): the launches
              // are not recorded and a concurrent decision may have overshot. Reported, not an error.
};

// "released" / "lost".
std::string_view release_outcome_name(ReleaseOutcome outcome);

// Step 5 for a grant: releases the lease at `now_ms` in one conditional write, with `recent` = the
// grant's entries still running at now_ms plus {launched, now_ms + settle_ms} when launched > 0.
// Errors: InvalidArgument for launched < 0; the store's error when the write failed (the lease then
// expires by itself at expires_ms).
Result<ReleaseOutcome> release_slots(Store& store, const SlotGrant& grant, std::int64_t launched,
                                     const SlotOptions& options, std::int64_t now_ms);

// Step 5 from another process that kept only the holder id (rcc register --release, rcc slots release):
// reads the lease (Store::get_lease), then the same write. kLost without a write when the lease is no
// longer `holder`'s. Errors as above, plus InvalidArgument for a bad key or an empty holder.
Result<ReleaseOutcome> release_slots(Store& store, const RunnerKey& key, const std::string& holder,
                                     std::int64_t launched, const SlotOptions& options, std::int64_t now_ms);

}  // namespace rcc
