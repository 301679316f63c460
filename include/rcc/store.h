// Store: the table of docs/table-contract.md behind an interface, so the counter, the reader and the simulator run the
// same code on the embedded store and on DynamoDB.
//
// Implementations: MemoryStore (rcc/memory_store.h) and DynamoStore (rcc/dynamo_store.h). Both pass the
// contract suite in src/core/store_contract.h. Unless an implementation says otherwise, a Store may be
// used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
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

// One decision's entry in a key's slot lease (see rcc/slots.h): `count` runners reserved or launched,
// counted by the other decisions for the key while until_ms > now.
struct GrantEntry {
  // The largest count a lease entry may hold. Stores refuse to write a count outside 0..kMaxCount, and
  // DynamoStore to read one: a negative count would hand out slots that do not exist, and deciders sum them.
  static constexpr std::int64_t kMaxCount = 1'000'000;
  static constexpr bool count_in_range(std::int64_t count) { return count >= 0 && count <= kMaxCount; }

  std::int64_t count = 0;
  std::int64_t until_ms = 0;

  friend bool operator==(const GrantEntry&, const GrantEntry&) = default;
};

// The slot lease of one runner key, stored under pk = "#lease#<key>" (see rcc/slots.h): a version that
// every grant moves forward by one, and the decisions' entries by holder id. It has no active_key, so it
// is never in the active index, and is never an instance item.
struct SlotLease {
  std::int64_t version = 0;                                   // 0: never granted (no item, or no version)
  std::map<std::string, GrantEntry, std::less<>> grants;     // holder id -> entry, expired ones included

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

  // The slot lease of `key` (a RunnerKey string) as stored, read strongly consistent; version 0 and no
  // grants when it was never granted.
  virtual Result<SlotLease> get_lease(std::string_view key) = 0;

  // Grants in one conditional write, when the lease's version is still `expected_version`: sets the version
  // to expected_version + 1, the entry of `holder` to `entry` (replacing any entry it had), removes the
  // entries of `removals` and sets the item's TTL (`ttl_s`, epoch s). When expected_version is 0 the lease
  // must have no version yet, and its grants become {holder: entry} (`removals` is then ignored).
  // kSuperseded when the version moved (another decision granted first): nothing is written, an answer,
  // not an error. InvalidArgument for an empty holder, a negative expected_version or `holder` among
  // `removals`.
  virtual Result<WriteOutcome> grant_slots(std::string_view key, std::int64_t expected_version,
                                           std::string_view holder, const GrantEntry& entry,
                                           const std::vector<std::string>& removals, std::int64_t ttl_s) = 0;

  // Replaces the entry of `holder` by `entry`, or removes it when `entry` is nullopt, in one conditional
  // write that requires the entry to exist; the version stays. kSuperseded when there is no such entry
  // (it ran out and a later grant removed it, or it was settled with nullopt already): nothing is written.
  // InvalidArgument for an empty holder.
  virtual Result<WriteOutcome> settle_grant(std::string_view key, std::string_view holder,
                                            const std::optional<GrantEntry>& entry) = 0;
};

inline constexpr std::string_view kLeasePkPrefix = "#lease#";

// An entry's count within 0..GrantEntry::kMaxCount: what grant_slots and settle_grant write, and what a
// store accepts when it reads a lease.
inline Status validate_grant_entry(std::string_view operation, const GrantEntry& entry) {
  if (!GrantEntry::count_in_range(entry.count)) {
    return Status::InvalidArgument(std::string(operation) + ": count " + std::to_string(entry.count) +
                                   " outside 0.." + std::to_string(GrantEntry::kMaxCount));
  }
  return Status();
}

// The argument checks of Store::settle_grant, shared by the implementations.
inline Status validate_settle_arguments(std::string_view holder, const std::optional<GrantEntry>& entry) {
  if (holder.empty()) return Status::InvalidArgument("settle_grant: empty holder");
  return entry ? validate_grant_entry("settle_grant", *entry) : Status();
}

// The argument checks of Store::grant_slots, shared by the implementations.
inline Status validate_grant_arguments(std::string_view holder, std::int64_t expected_version,
                                       const GrantEntry& entry, const std::vector<std::string>& removals) {
  if (holder.empty()) return Status::InvalidArgument("grant_slots: empty holder");
  if (Status s = validate_grant_entry("grant_slots", entry); !s.ok()) return s;
  if (expected_version < 0) return Status::InvalidArgument("grant_slots: negative expected version");
  for (const std::string& r : removals) {
    if (r == holder) return Status::InvalidArgument("grant_slots: the holder is among the removals");
    if (r.empty()) return Status::InvalidArgument("grant_slots: empty holder among the removals");
  }
  return Status();
}

// The hash key of the slot lease of `key` (a RunnerKey string): "#lease#" + key.
inline std::string lease_pk(std::string_view key) { return std::string(kLeasePkPrefix) + std::string(key); }

}  // namespace rcc
