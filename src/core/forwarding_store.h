// ForwardingStore: a Store that passes every call to another Store, for wrappers (fault injection,
// interleavings, metering) that change a few calls and leave the rest as they are.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rcc/store.h"

namespace rcc {

class ForwardingStore : public Store {
 public:
  // `inner` must outlive this store.
  explicit ForwardingStore(Store& inner) : inner_(inner) {}

  using Store::apply;
  Result<WriteOutcome> apply(const Transition& t, std::string* key) override { return inner_.apply(t, key); }
  Result<std::optional<InstanceItem>> get(std::string_view instance_id) override { return inner_.get(instance_id); }
  Result<std::int64_t> count_active(std::string_view key) override { return inner_.count_active(key); }
  Result<std::vector<ActiveEntry>> list_active(std::string_view key_prefix) override {
    return inner_.list_active(key_prefix);
  }
  Result<std::vector<InstanceItem>> list_items() override { return inner_.list_items(); }
  Result<std::optional<MetaItem>> get_meta() override { return inner_.get_meta(); }
  Status stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) override {
    return inner_.stamp_heartbeat(now_ms, environments);
  }
  Status record_reconcile(const ReconcileReport& report) override { return inner_.record_reconcile(report); }
  Result<SlotLease> get_lease(std::string_view key) override { return inner_.get_lease(key); }
  Result<WriteOutcome> grant_slots(std::string_view key, std::int64_t expected_version, std::string_view holder,
                                   const GrantEntry& entry, const std::vector<std::string>& removals,
                                   std::int64_t ttl_s) override {
    return inner_.grant_slots(key, expected_version, holder, entry, removals, ttl_s);
  }
  Result<WriteOutcome> settle_grant(std::string_view key, std::string_view holder,
                                    const std::optional<GrantEntry>& entry) override {
    return inner_.settle_grant(key, holder, entry);
  }

 protected:
  Store& inner() { return inner_; }

 private:
  Store& inner_;
};

}  // namespace rcc
