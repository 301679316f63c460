// rcc replay: a JSON-lines file of EventBridge events through apply_event on a store, then the counts.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "rcc/env.h"
#include "cli/aws_options.h"
#include "cli/commands.h"
#include "core/counter.h"
#include "core/memory_store.h"
#include "core/tag_source.h"
#include "core/text.h"

namespace rcc::cli {
namespace {

struct ReplayFlags {
  std::string environment;
  std::string inventory;
  std::string events;
  std::int64_t ttl_seconds = 86400;
  bool json = false;
  bool strict = false;
  std::string store = "memory";  // or "dynamodb"
  std::string table;
  AwsOverrides aws;
};

struct ReplayTally {
  std::int64_t lines = 0;
  std::int64_t events = 0;
  std::int64_t scheduled = 0;
  std::int64_t applied = 0;
  std::int64_t duplicate_or_late = 0;
  std::int64_t non_runner = 0;
  std::int64_t tag_lookups = 0;
  std::int64_t rejected = 0;  // malformed or foreign lines
  std::int64_t failed = 0;    // well-formed events apply_event could not apply
};

// Applies every line of `in` to `store`; reports bad lines on stderr as "<name>:<line>: <reason>".
ReplayTally replay_lines(std::istream& in, const std::string& name, Store& store, TagSource& tags,
                         const CounterOptions& options, Env* env) {
  ReplayTally tally;
  std::string line;
  while (std::getline(in, line)) {
    ++tally.lines;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto event = parse_event(line);
    if (!event.ok()) {
      ++tally.rejected;
      std::cerr << name << ':' << tally.lines << ": skipped: " << event.status().message() << '\n';
      continue;
    }
    const auto* instance_event = std::get_if<InstanceEvent>(&*event);
    if (instance_event == nullptr) {
      ++tally.scheduled;  // schedule ticks drive heartbeat and reconcile, which replay does not run
      continue;
    }
    ++tally.events;
    // "Now" is the wall clock, moved up to the event's own time for a trace dated ahead of it: never
    // behind the event (a replay may be of any period), and never behind what an earlier replay into the
    // same table wrote (an item ordered far ahead of "now" would be taken for a clock error and
    // overwritten; see Transition::order_bound). The counts do not depend on it.
    const std::int64_t now_ms = std::max(env->wall_ms(), instance_event->time_s * 1000);
    auto report = apply_event(store, tags, *instance_event, options, now_ms);
    if (!report.ok()) {
      ++tally.failed;
      std::cerr << name << ':' << tally.lines << ": failed: " << report.status().to_string() << '\n';
      continue;
    }
    tally.tag_lookups += report->tag_lookup ? 1 : 0;
    switch (report->outcome) {
      case EventOutcome::kApplied: ++tally.applied; break;
      case EventOutcome::kDuplicateOrLate: ++tally.duplicate_or_late; break;
      case EventOutcome::kNonRunner: ++tally.non_runner; break;
      case EventOutcome::kUnregistered: ++tally.non_runner; break;  // not reached: replay looks every instance up
    }
  }
  return tally;
}

void print_text(const ReplayTally& t, const std::map<std::string, std::int64_t>& counts) {
  std::printf("%-50s %8s\n", "KEY", "ACTIVE");
  std::int64_t total = 0;
  for (const auto& [key, n] : counts) {
    std::printf("%-50s %8lld\n", key.c_str(), static_cast<long long>(n));
    total += n;
  }
  std::printf("%-50s %8lld\n", "total", static_cast<long long>(total));
  std::printf(
      "\n%lld lines: %lld state-change events (%lld applied, %lld duplicate or late, %lld non-runner), "
      "%lld scheduled, %lld rejected, %lld failed; %lld tag lookups\n",
      static_cast<long long>(t.lines), static_cast<long long>(t.events), static_cast<long long>(t.applied),
      static_cast<long long>(t.duplicate_or_late), static_cast<long long>(t.non_runner),
      static_cast<long long>(t.scheduled), static_cast<long long>(t.rejected), static_cast<long long>(t.failed),
      static_cast<long long>(t.tag_lookups));
}

void print_json(const ReplayTally& t, const std::map<std::string, std::int64_t>& counts) {
  nlohmann::json out;
  out["counts"] = nlohmann::json::object();
  for (const auto& [key, n] : counts) out["counts"][key] = n;
  out["lines"] = t.lines;
  out["events"] = t.events;
  out["applied"] = t.applied;
  out["duplicate_or_late"] = t.duplicate_or_late;
  out["non_runner"] = t.non_runner;
  out["scheduled"] = t.scheduled;
  out["rejected"] = t.rejected;
  out["failed"] = t.failed;
  out["tag_lookups"] = t.tag_lookups;
  std::cout << rcc::dump_json(out) << '\n';
}

int run_replay(const ReplayFlags& flags) {
  auto inventory = InventoryTagSource::from_file(flags.inventory);
  if (!inventory.ok()) {
    std::cerr << "rcc replay: " << inventory.status().message() << '\n';
    return 2;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (flags.events != "-") {
    file.open(flags.events, std::ios::binary);
    if (!file) {
      std::cerr << "rcc replay: cannot open events file " << flags.events << '\n';
      return 2;
    }
    in = &file;
  }

  MemoryStore memory;
  std::unique_ptr<DynamoStore> dynamo;
  if (flags.store == "dynamodb") {
    if (flags.table.empty()) {
      std::cerr << "rcc replay: --store dynamodb needs --table (or RUNNER_COUNT_CACHE_TABLE_NAME)\n";
      return 2;
    }
    auto config = resolve_aws_options(flags.aws);
    if (!config.ok()) {
      std::cerr << "rcc replay: " << config.status().to_string() << '\n';
      return exit_code_for(config.status());
    }
    dynamo = make_dynamo_store(*config, flags.table);
  }
  Store& store = dynamo ? static_cast<Store&>(*dynamo) : memory;
  auto environments = parse_environment_list(flags.environment);
  if (!environments.ok()) {
    std::cerr << "rcc replay: --environment: " << environments.status().message() << '\n';
    return 2;
  }
  const CounterOptions options{std::move(*environments), flags.ttl_seconds};
  const ReplayTally tally = replay_lines(*in, flags.events == "-" ? "stdin" : flags.events, store, *inventory, options,
                                           Env::Default());
  if (in->bad()) {
    std::cerr << "rcc replay: read error on " << flags.events << '\n';
    return 1;
  }
  std::map<std::string, std::int64_t> counts;
  if (dynamo) {
    // Counted from a consistent read of the table itself, not the `active` index: a GSI is eventually
    // consistent on DynamoDB, so reading it right after the writes may show too few.
    auto items = dynamo->list_items();
    if (!items.ok()) {
      std::cerr << "rcc replay: " << items.status().to_string() << '\n';
      return 1;
    }
    for (const InstanceItem& item : *items) {
      if (item.active_key) ++counts[*item.active_key];
    }
  } else {
    counts = memory.active_counts();
  }
  if (flags.json) {
    print_json(tally, counts);
  } else {
    print_text(tally, counts);
  }
  if (flags.strict && (tally.rejected > 0 || tally.failed > 0)) {
    std::cerr << "rcc replay: --strict: " << tally.rejected << " rejected and " << tally.failed
              << " failed lines\n";
    return 1;
  }
  return 0;
}

}  // namespace

void add_replay_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ReplayFlags>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Apply a JSON-lines file of EventBridge events (one event per line, in file order) through the\n"
      "counter on the embedded store, with an inventory file as the tag source, and print the active\n"
      "count of every key. Malformed or foreign lines are reported on stderr with their line number and\n"
      "skipped. The processing time is the wall clock, or the event's own time when that is later (a\n"
      "trace dated ahead of the clock); the counts depend only on the events and the inventory.");
  cmd->add_option("--environment", flags->environment,
                  "Count runners tagged ghr:environment=ENV, or any of ENV1,ENV2,... (ENVIRONMENT_FILTER)")
      ->required()
      ->envname("ENVIRONMENT_FILTER");
  cmd->add_option("--inventory", flags->inventory,
                  "Instance tags: {\"instances\":[{\"instance_id\":\"i-...\",\"tags\":{...}}]}")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--events", flags->events, "JSON-lines file of EventBridge events, or - for stdin")->required();
  cmd->add_option("--ttl-seconds", flags->ttl_seconds, "TTL of inactive and non-runner items (TTL_SECONDS)")
      ->envname("TTL_SECONDS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print one JSON object: {\"counts\":{key:n,...}, and the tallies}");
  cmd->add_flag("--strict", flags->strict, "Exit 1 when any line was rejected or failed");
  cmd->add_option("--store", flags->store, "Where the items live: memory (embedded) or dynamodb (--table; the counts then come from a "
                  "consistent read of the table, not the eventually consistent index)")
      ->check(CLI::IsMember({"memory", "dynamodb"}))
      ->capture_default_str();
  add_table_option(cmd, flags->table);
  add_aws_options(cmd, flags->aws);
  cmd->callback([flags, &exit_code] { exit_code = run_replay(*flags); });
}

}  // namespace rcc::cli
