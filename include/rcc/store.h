// Store: the table of docs/table-contract.md behind an interface, so the counter, the reader and the simulator run the
// same code on the embedded store and on DynamoDB.
//
// Implementations: MemoryStore (rcc/memory_store.h) and DynamoStore (rcc/dynamo_store.h). Both pass the
// contract suite in src/core/store_contract.h. Unless an implementation says otherwise, a Store may be
// used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rcc/instance.h"
#include "rcc/status.h"

namespace rcc {

enum class WriteOutcome {
  kApplied,     // the condition held and the item was written
  kSuperseded,  // the condition failed: a duplicate, an older observation, a terminated item, or a
                // known-mode write whose item is missing or of the other kind. An answer, not an error.
};

// An entry of the sparse `active` index: an active runner and its key.
struct ActiveEntry {
  std::string instance_id;
  std::string active_key;

  friend bool operator==(const ActiveEntry&, const ActiveEntry&) = default;
  friend auto operator<=>(const ActiveEntry&, const ActiveEntry&) = default;
};

// Runners a decision launched under a slot lease, counted by the next decisions until `until_ms` (they may
// not be visible in the index or in EC2 before then).
struct RecentLaunch {
  std::int64_t count = 0;
  std::int64_t until_ms = 0;

  friend bool operator==(const RecentLaunch&, const RecentLaunch&) = default;
};

// The slot lease of one runner key, stored under pk = "#lease#<key>" (see rcc/slots.h). It has no
// active_key, so it is never in the active index, and is never an instance item.
struct SlotLease {
  std::string holder;               // who holds it; "" once released
  std::int64_t expires_ms = 0;      // the holder's claim ends at this wall-clock time; 0 once released
  std::vector<RecentLaunch> recent; // what the last holders launched, oldest first, as they left it

  friend bool operator==(const SlotLease&, const SlotLease&) = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // Executes `t` as one conditional write (see transition_applies / apply_transition).
  // Returns kApplied or kSuperseded; an error only when the store could not answer (retryable or not).
  // When `key` is not null and the write applied, *key is set to the key string the item now carries ("" for
  // a non-runner), taken from the write's own answer: no extra request.
  virtual Result<WriteOutcome> apply(const Transition& t, std::string* key) = 0;
  Result<WriteOutcome> apply(const Transition& t) { return apply(t, nullptr); }

  // The item of `instance_id`, nullopt when there is none.
  virtual Result<std::optional<InstanceItem>> get(std::string_view instance_id) = 0;

  // The number of active runners whose key string is `key` (the sparse index, all pages).
  virtual Result<std::int64_t> count_active(std::string_view key) = 0;

  // Every entry of the active index whose key starts with `key_prefix` ("" for all), in no set order.
  virtual Result<std::vector<ActiveEntry>> list_active(std::string_view key_prefix) = 0;

  // Every instance item (not the meta item, not the slot leases), for inspection; in no set order.
  virtual Result<std::vector<InstanceItem>> list_items() = 0;

  // The meta item, nullopt when it was never written.
  virtual Result<std::optional<MetaItem>> get_meta() = 0;

  // Moves heartbeat_ms forward to `now_ms` and, in the same write, sets the meta item's environments to
  // `environments` (the ENVIRONMENT_FILTER list, non-empty); creates the meta item when missing. When
  // heartbeat_ms is already >= now_ms nothing is written (never backward) and OK is returned. The
  // exception: a heartbeat_ms more than kMaxEventSkewMs ahead of `now_ms` was stamped by a clock running
  // ahead; it is replaced by `now_ms`, so that such a stamp lasts only until the next honest one.
  // InvalidArgument without a request when `environments` is empty.
  virtual Status stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) = 0;

  // Records a finished reconcile: reconciled_ms = report.finished_ms and the report's figures, creating
  // the meta item when missing. Never moves reconciled_ms backward: when the meta item already records a
  // reconcile finished at or after report.finished_ms, nothing is written and OK is returned (the newer
  // record stays). The exception, as for the heartbeat: a reconciled_ms more than kMaxEventSkewMs ahead of
  // report.finished_ms is replaced.
  virtual Status record_reconcile(const ReconcileReport& report) = 0;

  // Takes the slot lease of `key` (a RunnerKey string) for `holder` until `expires_ms`, in one conditional
  // write, when at `now_ms` it is free: never taken, released, expired (expires_ms <= now_ms), or held by
  // `holder` already (a renewal). The write sets holder, expires_ms and the item's TTL (`ttl_s`, epoch s)
  // and keeps `recent`. Returns the lease as stored after the write, or nullopt when another holder has it
  // (the condition failed: an answer, not an error). InvalidArgument for an empty holder.
  virtual Result<std::optional<SlotLease>> take_lease(std::string_view key, std::string_view holder,
                                                      std::int64_t now_ms, std::int64_t expires_ms,
                                                      std::int64_t ttl_s) = 0;

  // The lease of `key` as stored (strongly consistent), nullopt when it was never taken.
  virtual Result<std::optional<SlotLease>> get_lease(std::string_view key) = 0;

  // Releases the lease of `key` held by `holder` in one conditional write: removes holder and expires_ms,
  // replaces `recent` with `recent` and sets the TTL. kSuperseded when `holder` does not hold it (it
  // expired and another holder took it, or it was released already): nothing is written.
  // InvalidArgument for an empty holder.
  virtual Result<WriteOutcome> release_lease(std::string_view key, std::string_view holder,
                                             const std::vector<RecentLaunch>& recent, std::int64_t ttl_s) = 0;
};

inline constexpr std::string_view kLeasePkPrefix = "#lease#";

// The hash key of the slot lease of `key` (a RunnerKey string): "#lease#" + key.
inline std::string lease_pk(std::string_view key) { return std::string(kLeasePkPrefix) + std::string(key); }

}  // namespace rcc
