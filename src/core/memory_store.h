// MemoryStore: the embedded store, with the semantics docs/counting.md gives the DynamoDB table: conditional
// writes, a sparse active index, TTL attributes (kept, not enforced, as DynamoDB deletes lazily).
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "rcc/store.h"
#include "core/string_hash.h"

namespace rcc {

// Thread-compatible: one thread at a time.
class MemoryStore : public Store {
 public:
  using Store::apply;
  Result<WriteOutcome> apply(const Transition& t, std::string* key) override;
  Result<std::optional<InstanceItem>> get(std::string_view instance_id) override;
  Result<std::int64_t> count_active(std::string_view key) override;
  Result<std::vector<ActiveEntry>> list_active(std::string_view key_prefix) override;
  Result<std::vector<InstanceItem>> list_items() override;
  Result<std::optional<MetaItem>> get_meta() override;
  Status stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) override;
  Status record_reconcile(const ReconcileReport& report) override;
  Result<SlotLease> get_lease(std::string_view key) override;
  Result<WriteOutcome> grant_slots(std::string_view key, std::int64_t expected_version, std::string_view holder,
                                   const GrantEntry& entry, const std::vector<std::string>& removals,
                                   std::int64_t ttl_s) override;
  Result<WriteOutcome> settle_grant(std::string_view key, std::string_view holder,
                                    const std::optional<GrantEntry>& entry) override;

  // Number of Store calls answered, as a DynamoDB table would bill them: writes and reads.
  std::int64_t writes() const { return writes_; }
  std::int64_t reads() const { return reads_; }

  // Every active key with its count, in key order.
  std::map<std::string, std::int64_t> active_counts() const;

 private:
  StringMap<InstanceItem> items_;
  std::map<std::string, std::set<std::string>, std::less<>> active_index_;  // key -> instance ids
  std::optional<MetaItem> meta_;
  std::map<std::string, SlotLease, std::less<>> leases_;  // key string -> lease
  std::int64_t writes_ = 0;
  std::int64_t reads_ = 0;
};

}  // namespace rcc
