// rcc reconcile: one reconcile of a cache table against EC2 now.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cmd_cache_flags.h"
#include "cli/commands.h"
#include "app/reconcile.h"
#include "core/text.h"

namespace rcc::cli {
namespace {

struct ReconcileFlags {
  CacheFlags cache;
  std::int64_t grace_ms = 120000;
  std::int64_t ttl_seconds = 86400;
  bool dry_run = false;
  bool json = false;
};

std::string_view kind_name(ReconcileFinding::Kind kind) {
  switch (kind) {
    case ReconcileFinding::Kind::kAdded: return "added";
    case ReconcileFinding::Kind::kRemoved: return "removed";
    case ReconcileFinding::Kind::kLeftForGrace: return "left_for_grace";
  }
  return "unknown";
}

nlohmann::json report_json(const ReconcileReport& r) {
  return {{"started_ms", r.started_ms},   {"finished_ms", r.finished_ms}, {"ec2_active", r.ec2_active},
          {"table_active", r.table_active}, {"added", r.added},           {"removed", r.removed},
          {"left_for_grace", r.left_for_grace}, {"ec2_calls", r.ec2_calls}};
}

int run_reconcile(const ReconcileFlags& flags) {
  auto aws = connect_aws(flags.cache);
  if (!aws.ok()) {
    std::cerr << "rcc reconcile: " << aws.status().to_string() << '\n';
    return exit_code_for(aws.status());
  }
  auto environments = parse_environment_list(flags.cache.environment);
  if (!environments.ok()) {
    std::cerr << "rcc reconcile: --environment: " << environments.status().message() << '\n';
    return 2;
  }
  ReconcileOptions options;
  options.environments = std::move(*environments);
  options.grace_ms = flags.grace_ms;
  options.ttl_seconds = flags.ttl_seconds;
  options.dry_run = flags.dry_run;
  auto result = reconcile(*(*aws)->store, *(*aws)->ec2, options);
  if (!result.ok()) {
    std::cerr << "rcc reconcile: " << result.status().to_string() << '\n';
    return 1;
  }
  if (flags.json) {
    nlohmann::json out;
    out["dry_run"] = flags.dry_run;
    out["findings"] = nlohmann::json::array();
    for (const auto& f : result->findings) {
      out["findings"].push_back({{"kind", std::string(kind_name(f.kind))},
                                 {"instance_id", f.instance_id},
                                 {"key", f.key},
                                 {"ec2_state", std::string(state_name(f.ec2_state))},
                                 {"written", f.written}});
    }
    out["report"] = report_json(result->report);
    std::cout << rcc::dump_json(out) << '\n';
    return 0;
  }
  for (const auto& f : result->findings) {
    std::cout << kind_name(f.kind) << ' ' << f.instance_id << ' ' << (f.key.empty() ? "-" : f.key)
              << " ec2=" << state_name(f.ec2_state)
              << (f.written ? " repaired" : (flags.dry_run ? " (dry run: not written)" : " not written")) << '\n';
  }
  const ReconcileReport& r = result->report;
  std::cout << (flags.dry_run ? "dry run: " : "") << "EC2 active " << r.ec2_active << ", table active "
            << r.table_active << "; added " << r.added << ", removed " << r.removed << ", left for grace "
            << r.left_for_grace << "; " << r.ec2_calls << " EC2 calls, " << (r.finished_ms - r.started_ms)
            << " ms\n";
  return 0;
}

}  // namespace

void add_reconcile_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ReconcileFlags>();
  CLI::App* cmd = app.add_subcommand(
      "reconcile",
      "Run one reconcile now: list the active runners of the environment(s) from EC2 (--environment is\n"
      "ENV or ENV1,ENV2,... as in ENVIRONMENT_FILTER; one DescribeInstances scan, filters state\n"
      "pending/running and tag:ghr:environment with every environment as a value), list the table's\n"
      "active items (entries of environments not listed are removed), and repair every\n"
      "difference older than --grace-ms through the same conditional write events use (an observation\n"
      "at the scan's start, so newer events still win). An item active in the table but absent from EC2\n"
      "gets its true state from a DescribeInstances by id; one EC2 no longer knows is recorded as\n"
      "terminated. Unless --dry-run, the report is recorded in the meta item (reconciled_ms), which is\n"
      "what keeps readers trusting the cache. --dry-run writes nothing.\n"
      "\n"
      "Output: one line per finding (added|removed|left_for_grace, instance, key, EC2 state, repaired or\n"
      "not), then the report; with --json one object:\n"
      "  {\"dry_run\":B,\"findings\":[{\"kind\",\"instance_id\",\"key\",\"ec2_state\",\"written\"}...],\n"
      "   \"report\":{\"started_ms\",\"finished_ms\",\"ec2_active\",\"table_active\",\"added\",\"removed\",\n"
      "   \"left_for_grace\",\"ec2_calls\"}}\n"
      "Exit status: 0 on success, 1 when EC2 or the table failed (a partial repair is safe to repeat),\n"
      "2 on usage errors.");
  add_cache_flags(cmd, flags->cache, /*environment_required=*/true, CacheFlagSet::kTableOnly);
  cmd->add_option("--grace-ms", flags->grace_ms,
                  "Leave differences whose item changed this recently to the events in flight")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--ttl-seconds", flags->ttl_seconds, "TTL of the inactive items repairs write (TTL_SECONDS)")
      ->envname("TTL_SECONDS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--dry-run", flags->dry_run, "Find the differences, write nothing");
  cmd->add_flag("--json", flags->json, "Print one JSON object (see above)");
  cmd->callback([flags, &exit_code] { exit_code = run_reconcile(*flags); });
}

}  // namespace rcc::cli
