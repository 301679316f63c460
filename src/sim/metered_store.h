// MeteredStore: a Store that forwards to another and bills each call in DynamoDB on-demand request units,
// as the table of docs/table-contract.md would be billed.
//
// Units: a conditional UpdateItem is 1 write unit whether it applies or not (a failed condition is billed),
// plus 1 when the write adds the item to or removes it from the `active` index (GSI writes are billed);
// heartbeat and reconcile records are 1 write unit. GetItem (strongly consistent, items under 4 KB) and the
// meta read are 1 read unit. Query/Scan of the KEYS_ONLY index and Scan of the table are eventually
// consistent: 0.5 unit per 4 KB read, at least 0.5, with index entries taken as 100 bytes and items as 250.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "rcc/store.h"

namespace rcc::sim {

class MeteredStore : public Store {
 public:
  // `inner` must outlive this object.
  explicit MeteredStore(Store& inner) : inner_(inner) {}

  using Store::apply;
  Result<WriteOutcome> apply(const Transition& t, std::string* key) override;
  Result<std::optional<InstanceItem>> get(std::string_view instance_id) override;
  Result<std::int64_t> count_active(std::string_view key) override;
  Result<std::vector<ActiveEntry>> list_active(std::string_view key_prefix) override;
  Result<std::vector<InstanceItem>> list_items() override;
  Result<std::optional<MetaItem>> get_meta() override;
  Status stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) override;
  Status record_reconcile(const ReconcileReport& report) override;
  // A lease read is a strongly consistent GetItem: 1 read unit.
  Result<SlotLease> get_lease(std::string_view key) override;
  // Lease writes are conditional UpdateItems: 1 write unit each, applied or not.
  Result<WriteOutcome> grant_slots(std::string_view key, std::int64_t expected_version, std::string_view holder,
                                   const GrantEntry& entry, const std::vector<std::string>& removals,
                                   std::int64_t ttl_s) override;
  Result<WriteOutcome> settle_grant(std::string_view key, std::string_view holder,
                                    const std::optional<GrantEntry>& entry) override;

  double read_units() const { return read_units_; }
  double write_units() const { return write_units_; }
  std::int64_t reads() const { return reads_; }
  std::int64_t writes() const { return writes_; }

  // The store underneath, for reads the bill must not include (the simulator's own measurements).
  Store& inner() { return inner_; }

 private:
  void bill_read(double units) {
    ++reads_;
    read_units_ += units;
  }
  void bill_write(double units) {
    ++writes_;
    write_units_ += units;
  }

  Store& inner_;
  std::set<std::string, std::less<>> indexed_;  // instance ids in the active index, as written through here
  double read_units_ = 0;
  double write_units_ = 0;
  std::int64_t reads_ = 0;
  std::int64_t writes_ = 0;
};

}  // namespace rcc::sim
