// rcc inspect: the tracked instances and the meta item of a cache table, for a human or a script.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cmd_cache_flags.h"
#include "cli/commands.h"
#include "core/text.h"
#include "rcc/env.h"
#include "rcc/reader.h"

namespace rcc::cli {
namespace {

struct InspectFlags {
  CacheFlags cache;
  std::string key;
  bool active_only = false;
  bool json = false;
};

std::string item_key(const InstanceItem& item) {
  if (item.active_key.has_value()) return *item.active_key;
  return item.identity.runner ? item.identity.tagged.str() : std::string();
}

nlohmann::json item_json(const InstanceItem& item) {
  nlohmann::json out;
  out["instance_id"] = item.instance_id;
  out["state"] = std::string(state_name(item.state));
  out["runner"] = item.identity.runner;
  out["key"] = item_key(item);
  out["active"] = item.active_key.has_value();
  out["order"] = item.order;
  out["last_event"] = format_rfc3339(order_time_s(item.order) * 1000);
  out["updated_ms"] = item.updated_ms;
  out["updated"] = format_rfc3339(item.updated_ms);
  out["ttl_s"] = item.ttl_s.has_value() ? nlohmann::json(*item.ttl_s) : nlohmann::json(nullptr);
  return out;
}

nlohmann::json meta_json(const std::optional<MetaItem>& meta, const Freshness& freshness, std::int64_t now_ms) {
  nlohmann::json out;
  out["present"] = meta.has_value();
  auto optional_ms = [](const std::optional<std::int64_t>& v) {
    return v.has_value() ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  const std::optional<std::int64_t> none;
  const auto& heartbeat = meta ? meta->heartbeat_ms : none;
  const auto& reconciled = meta ? meta->reconciled_ms : none;
  out["heartbeat_ms"] = optional_ms(heartbeat);
  out["heartbeat_age_ms"] = heartbeat ? nlohmann::json(now_ms - *heartbeat) : nlohmann::json(nullptr);
  out["environments"] = meta ? nlohmann::json(meta->environments) : nlohmann::json::array();
  out["reconciled_ms"] = optional_ms(reconciled);
  out["reconciled_age_ms"] = reconciled ? nlohmann::json(now_ms - *reconciled) : nlohmann::json(nullptr);
  if (meta && meta->last_reconcile) {
    const ReconcileReport& r = *meta->last_reconcile;
    out["last_reconcile"] = {{"started_ms", r.started_ms},     {"finished_ms", r.finished_ms},
                             {"ec2_active", r.ec2_active},     {"table_active", r.table_active},
                             {"added", r.added},               {"removed", r.removed},
                             {"left_for_grace", r.left_for_grace}, {"ec2_calls", r.ec2_calls}};
  } else {
    out["last_reconcile"] = nullptr;
  }
  out["fresh"] = freshness.reason == FallbackReason::kNone;
  out["reason"] = std::string(reason_name(freshness.reason));
  out["detail"] = freshness.detail;
  return out;
}

// Prints `rows` (the first is the header) with every column padded to its widest cell.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    std::cout << line << '\n';
  }
}

std::string age_text(std::int64_t now_ms, std::int64_t at_ms) {
  return format_rfc3339(at_ms) + " (" + std::to_string(now_ms - at_ms) + " ms ago)";
}

void print_text(const std::vector<InstanceItem>& items, const std::optional<MetaItem>& meta,
                const Freshness& freshness, std::int64_t now_ms) {
  std::vector<std::vector<std::string>> rows = {{"INSTANCE", "STATE", "KEY", "ACTIVE", "LAST EVENT", "UPDATED"}};
  std::map<std::string, std::int64_t> active_counts;
  for (const auto& item : items) {
    std::string key = item_key(item);
    if (item.active_key) ++active_counts[*item.active_key];
    rows.push_back({item.instance_id, std::string(state_name(item.state)),
                    key.empty() ? std::string(item.identity.runner ? "-" : "(not a runner)") : key,
                    item.active_key ? "yes" : "no", format_rfc3339(order_time_s(item.order) * 1000),
                    format_rfc3339(item.updated_ms)});
  }
  print_table(rows);
  std::cout << items.size() << " items\n\n";
  if (!active_counts.empty()) {
    std::vector<std::vector<std::string>> counts = {{"KEY", "ACTIVE"}};
    for (const auto& [key, n] : active_counts) counts.push_back({key, std::to_string(n)});
    print_table(counts);
    std::cout << '\n';
  }

  std::vector<std::vector<std::string>> m = {{"META"}};
  if (!meta) {
    m.push_back({"item", "missing (the counter never ran against this table)"});
  } else {
    m.push_back({"heartbeat", meta->heartbeat_ms ? age_text(now_ms, *meta->heartbeat_ms) : "never"});
    m.push_back({"environments", meta->environments.empty() ? "not recorded"
                                                            : join_environment_list(meta->environments)});
    m.push_back({"last reconcile", meta->reconciled_ms ? age_text(now_ms, *meta->reconciled_ms) : "never"});
    if (meta->last_reconcile) {
      const ReconcileReport& r = *meta->last_reconcile;
      m.push_back({"reconcile drift", "ec2 active " + std::to_string(r.ec2_active) + ", table active " +
                                          std::to_string(r.table_active) + ", added " + std::to_string(r.added) +
                                          ", removed " + std::to_string(r.removed) + ", left for grace " +
                                          std::to_string(r.left_for_grace)});
      m.push_back({"reconcile took", std::to_string(r.finished_ms - r.started_ms) + " ms, " +
                                         std::to_string(r.ec2_calls) + " EC2 calls"});
    }
  }
  m.push_back({"verdict", freshness.reason == FallbackReason::kNone
                              ? "fresh: " + freshness.detail
                              : "stale (" + std::string(reason_name(freshness.reason)) + "): " + freshness.detail});
  print_table(m);
}

int run_inspect(const InspectFlags& flags) {
  std::optional<RunnerKey> key;
  if (!flags.key.empty()) {
    auto parsed = RunnerKey::parse(flags.key);
    if (!parsed.ok()) {
      std::cerr << "rcc inspect: --key: " << parsed.status().message() << '\n';
      return 2;
    }
    key = *parsed;
  }
  auto options = flags.cache.reader_options();
  if (!options.ok()) {
    std::cerr << "rcc inspect: " << options.status().message() << '\n';
    return 2;
  }
  auto aws = connect_aws(flags.cache);
  if (!aws.ok()) {
    std::cerr << "rcc inspect: " << aws.status().to_string() << '\n';
    return exit_code_for(aws.status());
  }
  DynamoStore& store = *(*aws)->store;
  auto items = store.list_items();
  if (!items.ok()) {
    std::cerr << "rcc inspect: listing the items of " << flags.cache.table << ": " << items.status().to_string()
              << '\n';
    return 1;
  }
  auto meta = store.get_meta();
  if (!meta.ok()) {
    std::cerr << "rcc inspect: reading the meta item: " << meta.status().to_string() << '\n';
    return 1;
  }
  const std::int64_t now_ms = Env::Default()->wall_ms();

  std::vector<InstanceItem> shown;
  for (auto& item : *items) {
    if (!flags.cache.environment.empty() && item.identity.tagged.environment != flags.cache.environment) continue;
    if (key && !(item.identity.runner && item.identity.tagged == *key)) continue;
    if (flags.active_only && !item.active_key) continue;
    shown.push_back(std::move(item));
  }
  std::sort(shown.begin(), shown.end(), [](const InstanceItem& a, const InstanceItem& b) {
    const std::string ka = item_key(a), kb = item_key(b);
    return ka != kb ? ka < kb : a.instance_id < b.instance_id;
  });
  // With --environment the verdict is a reader's for that environment, else the table's own.
  const Freshness freshness = flags.cache.environment.empty()
                                  ? assess_freshness(*meta, now_ms, *options)
                                  : assess_freshness(*meta, flags.cache.environment, now_ms, *options);

  if (flags.json) {
    nlohmann::json out;
    out["items"] = nlohmann::json::array();
    for (const auto& item : shown) out["items"].push_back(item_json(item));
    out["meta"] = meta_json(*meta, freshness, now_ms);
    out["now_ms"] = now_ms;
    std::cout << rcc::dump_json(out) << '\n';
  } else {
    print_text(shown, *meta, freshness, now_ms);
  }
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<InspectFlags>();
  CLI::App* cmd = app.add_subcommand(
      "inspect",
      "Show what a cache table holds: every tracked instance (state, runner key, whether it is counted\n"
      "as active, the time of the last event applied to it and when the item was last written) and the\n"
      "meta item (heartbeat age, the last reconcile, its drift, and whether a reader would trust the\n"
      "cache now). Reads the whole table with Scan: meant for operators, not for scaling decisions.\n"
      "\n"
      "Output: aligned tables; with --json one object:\n"
      "  {\"items\":[{\"instance_id\",\"state\",\"runner\",\"key\",\"active\",\"order\",\"last_event\",\n"
      "   \"updated_ms\",\"updated\",\"ttl_s\"}...],\"meta\":{\"present\",\"heartbeat_ms\",\"heartbeat_age_ms\",\n"
      "   \"environments\",\"reconciled_ms\",\"reconciled_age_ms\",\"last_reconcile\":{...}|null,\"fresh\",\"reason\",\n"
      "   \"detail\"},\"now_ms\":N}\n"
      "With --environment, only that environment's items are shown and the verdict is a reader's for it\n"
      "(environment_mismatch when the meta item does not list it).\n"
      "Exit status: 0 on success, 1 when the table cannot be read, 2 on usage errors.");
  add_cache_flags(cmd, flags->cache, /*environment_required=*/false);
  cmd->add_option("--key", flags->key, "Only the runners of this key, e.g. prod#Org#acme");
  cmd->add_flag("--active", flags->active_only, "Only the items counted as active");
  cmd->add_flag("--json", flags->json, "Print one JSON object (see above)");
  cmd->callback([flags, &exit_code] { exit_code = run_inspect(*flags); });
}

}  // namespace rcc::cli
