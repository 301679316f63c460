#include "sim/latency_store.h"

namespace rcc::sim {

void LatencyStore::charge() {
  ++requests_;
  timeline_.advance(static_cast<std::int64_t>(random_.uniform(min_ms_, max_ms_)));
}

Result<WriteOutcome> LatencyStore::apply(const Transition& t, std::string* key) {
  charge();
  return inner_.apply(t, key);
}

Result<std::optional<InstanceItem>> LatencyStore::get(std::string_view instance_id) {
  charge();
  return inner_.get(instance_id);
}

Result<std::int64_t> LatencyStore::count_active(std::string_view key) {
  charge();
  return inner_.count_active(key);
}

Result<std::vector<ActiveEntry>> LatencyStore::list_active(std::string_view key_prefix) {
  charge();
  return inner_.list_active(key_prefix);
}

Result<std::vector<InstanceItem>> LatencyStore::list_items() {
  charge();
  return inner_.list_items();
}

Result<std::optional<MetaItem>> LatencyStore::get_meta() {
  charge();
  return inner_.get_meta();
}

Status LatencyStore::stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) {
  charge();
  return inner_.stamp_heartbeat(now_ms, environments);
}

Status LatencyStore::record_reconcile(const ReconcileReport& report) {
  charge();
  return inner_.record_reconcile(report);
}

Result<SlotLease> LatencyStore::get_lease(std::string_view key) {
  charge();
  return inner_.get_lease(key);
}

Result<WriteOutcome> LatencyStore::grant_slots(std::string_view key, std::int64_t expected_version,
                                          std::string_view holder, const GrantEntry& entry,
                                          const std::vector<std::string>& removals, std::int64_t ttl_s) {
  charge();
  return inner_.grant_slots(key, expected_version, holder, entry, removals, ttl_s);
}

Result<WriteOutcome> LatencyStore::settle_grant(std::string_view key, std::string_view holder,
                                           const std::optional<GrantEntry>& entry) {
  charge();
  return inner_.settle_grant(key, holder, entry);
}

}  // namespace rcc::sim
