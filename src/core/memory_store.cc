#include "core/memory_store.h"

#include <algorithm>

namespace rcc {

Result<WriteOutcome> MemoryStore::apply(const Transition& t, std::string* key) {
  ++writes_;
  const auto it = items_.find(t.instance_id);
  const InstanceItem* stored = it == items_.end() ? nullptr : &it->second;
  if (!transition_applies(stored, t)) return WriteOutcome::kSuperseded;

  InstanceItem item = apply_transition(stored, t);
  if (key) *key = item.identity.runner ? item.identity.tagged.str() : "";
  if (stored && stored->active_key != item.active_key) {
    if (stored->active_key) {
      auto index_entry = active_index_.find(*stored->active_key);
      index_entry->second.erase(t.instance_id);
      if (index_entry->second.empty()) active_index_.erase(index_entry);
    }
  }
  if (item.active_key && (!stored || stored->active_key != item.active_key)) {
    active_index_[*item.active_key].insert(t.instance_id);
  }
  if (it == items_.end()) {
    items_.emplace(t.instance_id, std::move(item));
  } else {
    it->second = std::move(item);
  }
  return WriteOutcome::kApplied;
}

Result<std::optional<InstanceItem>> MemoryStore::get(std::string_view instance_id) {
  ++reads_;
  const auto it = items_.find(instance_id);
  if (it == items_.end()) return std::optional<InstanceItem>();
  return std::optional<InstanceItem>(it->second);
}

Result<std::int64_t> MemoryStore::count_active(std::string_view key) {
  ++reads_;
  const auto it = active_index_.find(key);
  return it == active_index_.end() ? std::int64_t{0} : static_cast<std::int64_t>(it->second.size());
}

Result<std::vector<ActiveEntry>> MemoryStore::list_active(std::string_view key_prefix) {
  ++reads_;
  std::vector<ActiveEntry> entries;
  for (auto it = active_index_.lower_bound(key_prefix);
       it != active_index_.end() && std::string_view(it->first).starts_with(key_prefix); ++it) {
    for (const auto& id : it->second) entries.push_back({id, it->first});
  }
  return entries;
}

Result<std::vector<InstanceItem>> MemoryStore::list_items() {
  ++reads_;
  std::vector<InstanceItem> items;
  items.reserve(items_.size());
  for (const auto& [id, item] : items_) items.push_back(item);
  return items;
}

Result<std::optional<MetaItem>> MemoryStore::get_meta() {
  ++reads_;
  return meta_;
}

Status MemoryStore::stamp_heartbeat(std::int64_t now_ms, std::span<const std::string> environments) {
  if (environments.empty()) return Status::InvalidArgument("stamp_heartbeat: no environment");
  ++writes_;
  if (!meta_) meta_.emplace();
  const auto& hb = meta_->heartbeat_ms;
  if (hb && *hb >= now_ms && *hb <= now_ms + kMaxEventSkewMs) return Status();
  meta_->heartbeat_ms = now_ms;
  meta_->environments.assign(environments.begin(), environments.end());
  std::sort(meta_->environments.begin(), meta_->environments.end());
  return Status();
}

Status MemoryStore::record_reconcile(const ReconcileReport& report) {
  ++writes_;
  if (!meta_) meta_.emplace();
  // A slow reconcile finishing after a newer one leaves the newer record in place.
  const auto& done = meta_->reconciled_ms;
  if (done && *done >= report.finished_ms && *done <= report.finished_ms + kMaxEventSkewMs) return Status();
  meta_->reconciled_ms = report.finished_ms;
  meta_->last_reconcile = report;
  return Status();
}

Result<SlotLease> MemoryStore::get_lease(std::string_view key) {
  ++reads_;
  const auto it = leases_.find(key);
  if (it == leases_.end()) return SlotLease{};
  return it->second;
}

Result<WriteOutcome> MemoryStore::grant_slots(std::string_view key, std::int64_t expected_version,
                                              std::string_view holder, const GrantEntry& entry,
                                              const std::vector<std::string>& removals, std::int64_t /*ttl_s*/) {
  if (Status s = validate_grant_arguments(holder, expected_version, entry, removals); !s.ok()) return s;
  ++writes_;
  auto it = leases_.find(key);
  const std::int64_t version = it == leases_.end() ? 0 : it->second.version;
  if (version != expected_version) return WriteOutcome::kSuperseded;
  if (it == leases_.end()) it = leases_.emplace(std::string(key), SlotLease{}).first;
  SlotLease& lease = it->second;
  if (expected_version == 0) {
    lease.grants.clear();
  } else {
    for (const std::string& r : removals) lease.grants.erase(r);
  }
  lease.grants.insert_or_assign(std::string(holder), entry);
  lease.version = expected_version + 1;
  return WriteOutcome::kApplied;
}

Result<WriteOutcome> MemoryStore::settle_grant(std::string_view key, std::string_view holder,
                                               const std::optional<GrantEntry>& entry) {
  if (Status s = validate_settle_arguments(holder, entry); !s.ok()) return s;
  ++writes_;
  const auto it = leases_.find(key);
  if (it == leases_.end()) return WriteOutcome::kSuperseded;
  const auto grant = it->second.grants.find(holder);
  if (grant == it->second.grants.end()) return WriteOutcome::kSuperseded;
  if (entry) {
    grant->second = *entry;
  } else {
    it->second.grants.erase(grant);
  }
  return WriteOutcome::kApplied;
}

std::map<std::string, std::int64_t> MemoryStore::active_counts() const {
  std::map<std::string, std::int64_t> counts;
  for (const auto& [key, ids] : active_index_) counts.emplace(key, static_cast<std::int64_t>(ids.size()));
  return counts;
}

}  // namespace rcc
