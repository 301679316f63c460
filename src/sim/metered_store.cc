#include "sim/metered_store.h"

#include <algorithm>
#include <cmath>

namespace rcc::sim {
namespace {

constexpr double kIndexEntryBytes = 100;
constexpr double kItemBytes = 250;

// Eventually consistent read of `bytes`: half a unit per 4 KB, at least half a unit.
double eventual_units(double bytes) { return 0.5 * std::max(1.0, std::ceil(bytes / 4096.0)); }

}  // namespace

Result<WriteOutcome> MeteredStore::apply(const Transition& t, std::string* key) {
  auto outcome = inner_.apply(t, key);
  if (!outcome.ok()) return outcome;
  double units = 1;
  if (*outcome == WriteOutcome::kApplied) {
    // Which writes are runner writes follows the mode: a known-runner write only applies to runner items.
    const bool runner = t.mode == WriteMode::kKnownRunner || (writes_identity(t.mode) && t.identity.runner);
    const bool now_indexed = runner && is_active(t.state);
    const auto it = indexed_.find(t.instance_id);
    const bool was_indexed = it != indexed_.end();
    if (now_indexed != was_indexed) {
      units += 1;
      if (now_indexed) {
        indexed_.insert(t.instance_id);
      } else {
        indexed_.erase(it);
      }
    }
  }
  bill_write(units);
  return outcome;
}

Result<std::optional<InstanceItem>> MeteredStore::get(std::string_view instance_id) {
  bill_read(1);
  return inner_.get(instance_id);
}

Result<std::int64_t> MeteredStore::count_active(std::string_view key) {
  auto count = inner_.count_active(key);
  bill_read(eventual_units(count.ok() ? static_cast<double>(*count) * kIndexEntryBytes : 0));
  return count;
}

Result<std::vector<ActiveEntry>> MeteredStore::list_active(std::string_view key_prefix) {
  auto entries = inner_.list_active(key_prefix);
  bill_read(eventual_units(entries.ok() ? static_cast<double>(entries->size()) * kIndexEntryBytes : 0));
  return entries;
}

Result<std::vector<InstanceItem>> MeteredStore::list_items() {
  auto items = inner_.list_items();
  bill_read(eventual_units(items.ok() ? static_cast<double>(items->size()) * kItemBytes : 0));
  return items;
}

Result<std::optional<MetaItem>> MeteredStore::get_meta() {
  bill_read(1);
  return inner_.get_meta();
}

Status MeteredStore::stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) {
  bill_write(1);
  return inner_.stamp_heartbeat(now_ms, environments);
}

Status MeteredStore::record_reconcile(const ReconcileReport& report) {
  bill_write(1);
  return inner_.record_reconcile(report);
}

Result<SlotLease> MeteredStore::get_lease(std::string_view key) {
  bill_read(1);
  return inner_.get_lease(key);
}

Result<WriteOutcome> MeteredStore::grant_slots(std::string_view key, std::int64_t expected_version,
                                          std::string_view holder, const GrantEntry& entry,
                                          const std::vector<std::string>& removals, std::int64_t ttl_s) {
  bill_write(1);
  return inner_.grant_slots(key, expected_version, holder, entry, removals, ttl_s);
}

Result<WriteOutcome> MeteredStore::settle_grant(std::string_view key, std::string_view holder,
                                           const std::optional<GrantEntry>& entry) {
  bill_write(1);
  return inner_.settle_grant(key, holder, entry);
}

}  // namespace rcc::sim
