#include "app/reconcile.h"

#include <map>
#include <set>
#include <string>
#include <string_view>

namespace rcc {
namespace {

// DescribeInstances accepts up to 200 values per filter.
constexpr std::size_t kIdsPerDescribe = 200;

struct Ec2View {
  InstanceState state = InstanceState::kTerminated;
  InstanceIdentity identity;
  std::int64_t launch_time_ms = 0;
};

// The true state of each of `ids` that EC2 still knows; the rest are absent from the result.
Result<std::map<std::string, Ec2View>> describe_ids(Ec2& ec2, const std::vector<std::string>& ids,
                                                    const std::vector<std::string>& environments) {
  std::map<std::string, Ec2View> found;
  for (std::size_t begin = 0; begin < ids.size(); begin += kIdsPerDescribe) {
    Ec2Filter filter{"instance-id", {}};
    for (std::size_t i = begin; i < ids.size() && i < begin + kIdsPerDescribe; ++i) filter.values.push_back(ids[i]);
    auto instances = ec2.describe_instances({filter});
    if (!instances.ok()) return instances.status();
    for (auto& instance : *instances) {
      found[instance.instance_id] = Ec2View{instance.state, identify(instance.tags, environments), instance.launch_time_ms};
    }
  }
  return found;
}

}  // namespace

Result<ReconcileResult> reconcile(Store& store, Ec2& ec2, const ReconcileOptions& options, Env* env) {
  ReconcileResult result;
  ReconcileReport& report = result.report;
  report.started_ms = env->wall_ms();
  // Checked before every step that calls EC2 or the store: past the deadline nothing more is started.
  const auto out_of_time = [&](std::string_view step) -> Status {
    if (options.deadline == nullptr || !options.deadline->expired(*env)) return Status();
    return Status::Timeout("reconcile stopped at the deadline before " + std::string(step) + " (" +
                           std::to_string(report.added + report.removed) + " repairs written)");
  };
  RCC_RETURN_IF_ERROR(out_of_time("the EC2 scan"));
  const std::int64_t calls_before = ec2.requests_sent();
  const std::int64_t grace_start_ms = report.started_ms - options.grace_ms;

  // EC2's view of the active runners.
  auto scan = ec2.describe_instances(active_runner_filters(options.environments));
  if (!scan.ok()) return scan.status().with_context("reconcile scan");
  std::map<std::string, Ec2View> ec2_active;
  for (auto& instance : *scan) {
    InstanceIdentity identity = identify(instance.tags, options.environments);
    if (!identity.runner || !is_active(instance.state)) continue;
    ec2_active[instance.instance_id] = Ec2View{instance.state, std::move(identity), instance.launch_time_ms};
  }
  report.ec2_active = static_cast<std::int64_t>(ec2_active.size());

  // The table's view: the whole index (a Scan reads all of it whatever the filter), so entries of an
  // environment the deployment no longer counts are found and removed too.
  RCC_RETURN_IF_ERROR(out_of_time("the table listing"));
  auto listed = store.list_active("");
  if (!listed.ok()) return listed.status().with_context("reconcile table listing");
  std::map<std::string, std::string> table_active;
  for (auto& entry : *listed) table_active[entry.instance_id] = entry.active_key;
  report.table_active = static_cast<std::int64_t>(table_active.size());

  // Active in the table but not in the scan: learn the true state (a stopped instance is not terminated).
  std::vector<std::string> missing_from_scan;
  for (const auto& [id, key] : table_active) {
    if (!ec2_active.contains(id)) missing_from_scan.push_back(id);
  }
  std::map<std::string, Ec2View> truth_of_missing;
  if (!missing_from_scan.empty()) {
    RCC_RETURN_IF_ERROR(out_of_time("the lookup of table-only instances"));
    auto described = describe_ids(ec2, missing_from_scan, options.environments);
    if (!described.ok()) return described.status().with_context("reconcile lookup of table-only instances");
    truth_of_missing = std::move(*described);
  }

  const std::int64_t scan_time_s = report.started_ms / 1000;
  // Repairs `id` to `view`, unless the item changed within the grace window.
  auto repair = [&](const std::string& id, ReconcileFinding::Kind kind, const Ec2View& view,
                    const InstanceIdentity& identity) -> Status {
    RCC_RETURN_IF_ERROR(out_of_time("the repair of " + id));
    ReconcileFinding finding{kind, id, identity.runner ? identity.tagged.str() : "", view.state, false};
    auto item = store.get(id);
    if (!item.ok()) return item.status().with_context("reconcile read of " + id);
    // An item "updated" further ahead than the clock skew bound was written by a clock running ahead: it
    // is not recent, it is wrong, and the repair's order bound lets the write through (see Transition).
    // An unresolved item (its tags never looked up) is claimed at once: no event will tell its tags.
    const bool recent_item = item->has_value() && !(*item)->identity.unresolved &&
                             (*item)->updated_ms >= grace_start_ms &&
                             (*item)->updated_ms <= report.started_ms + kMaxEventSkewMs;
    const bool recent_launch = !item->has_value() && view.launch_time_ms >= grace_start_ms;
    if (recent_item || recent_launch) {
      finding.kind = ReconcileFinding::Kind::kLeftForGrace;
      ++report.left_for_grace;
      result.findings.push_back(std::move(finding));
      return Status();
    }
    if (!options.dry_run) {
      auto written = store.apply(make_transition(WriteMode::kUpsert, id, view.state, scan_time_s, report.started_ms,
                                                 options.ttl_seconds, identity));
      if (!written.ok()) return written.status().with_context("reconcile write of " + id);
      finding.written = *written == WriteOutcome::kApplied;
      if (!finding.written) {
        // The item holds an observation newer than the scan (or is terminated): the event wins, and
        // nothing was repaired.
        finding.kind = ReconcileFinding::Kind::kLeftForGrace;
        ++report.left_for_grace;
        result.findings.push_back(std::move(finding));
        return Status();
      }
    }
    ++(kind == ReconcileFinding::Kind::kAdded ? report.added : report.removed);
    result.findings.push_back(std::move(finding));
    return Status();
  };

  for (const auto& [id, view] : ec2_active) {
    const auto it = table_active.find(id);
    if (it != table_active.end() && it->second == view.identity.tagged.str()) continue;
    RCC_RETURN_IF_ERROR(repair(id, ReconcileFinding::Kind::kAdded, view, view.identity));
  }
  for (const auto& id : missing_from_scan) {
    const auto it = truth_of_missing.find(id);
    if (it != truth_of_missing.end() && is_active(it->second.state) && it->second.identity.runner) {
      continue;  // active after all: the scan missed it (eventual consistency); nothing to repair
    }
    Ec2View view;  // EC2 no longer knows it: terminated
    InstanceIdentity identity;
    if (it != truth_of_missing.end()) {
      view = it->second;
      identity = it->second.identity;
    } else {
      auto key = RunnerKey::parse(table_active[id]);
      identity = InstanceIdentity{key.ok(), key.ok() ? *key : RunnerKey{}};
    }
    RCC_RETURN_IF_ERROR(repair(id, ReconcileFinding::Kind::kRemoved, view, identity));
  }

  report.finished_ms = env->wall_ms();
  report.ec2_calls = ec2.requests_sent() - calls_before;
  if (!options.dry_run) {
    RCC_RETURN_IF_ERROR(store.record_reconcile(report).with_context("reconcile record"));
  }
  return result;
}

}  // namespace rcc
