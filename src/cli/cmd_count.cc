// rcc count: the active runners of one key, from the cache when fresh, else from EC2 (docs/table-contract.md).
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/cmd_cache_flags.h"
#include "core/text.h"
#include "rcc/reader.h"

namespace rcc::cli {
namespace {

struct CountFlags {
  CacheFlags cache;
  std::string type;
  std::string owner;
  bool json = false;
};

nlohmann::json answer_json(const CountAnswer& a) {
  nlohmann::json out;
  out["count"] = a.count;
  out["source"] = std::string(source_name(a.source));
  out["age_ms"] = a.age_ms.has_value() ? nlohmann::json(*a.age_ms) : nlohmann::json(nullptr);
  out["reason"] = std::string(reason_name(a.reason));
  out["detail"] = a.detail;
  return out;
}

int run_count(const CountFlags& flags) {
  const RunnerKey key{flags.cache.environment, flags.type, flags.owner};
  if (Status s = validate_runner_key(key); !s.ok()) {
    std::cerr << "rcc count: " << s.message() << '\n';
    return 2;
  }
  auto options = flags.cache.reader_options();
  if (!options.ok()) {
    std::cerr << "rcc count: " << options.status().message() << '\n';
    return 2;
  }
  auto aws = connect_aws(flags.cache);
  if (!aws.ok()) {
    std::cerr << "rcc count: " << aws.status().to_string() << '\n';
    return exit_code_for(aws.status());
  }
  AwsHandles& h = **aws;
  RunnerCountReader reader(*h.store, *h.meta_store, *h.ec2, *options);
  auto answer = reader.count(key);
  if (!answer.ok()) {
    if (flags.json) {
      nlohmann::json out;
      out["error"] = answer.status().message();
      out["code"] = std::string(code_name(answer.status().code()));
      std::cout << rcc::dump_json(out) << '\n';
    }
    std::cerr << "rcc count: no answer: " << answer.status().to_string() << '\n';
    return 1;
  }
  if (flags.json) {
    std::cout << rcc::dump_json(answer_json(*answer)) << '\n';
    return 0;
  }
  std::cout << answer->count << '\n';
  if (answer->source == CountSource::kCache) {
    std::cerr << "source: cache (" << answer->detail << ")\n";
  } else {
    std::cerr << "source: ec2, fallback because " << reason_name(answer->reason) << ": " << answer->detail
              << '\n';
  }
  return 0;
}

}  // namespace

void add_count_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<CountFlags>();
  CLI::App* cmd = app.add_subcommand(
      "count",
      "Print how many runners of one key (environment, type, owner) are active: pending or running.\n"
      "The count comes from the cache table when it can vouch for itself: its meta item exists, the\n"
      "heartbeat is at most --stale-threshold-ms old and a reconcile finished within 3 x\n"
      "--reconcile-interval-s. Otherwise it comes from EC2 DescribeInstances (filters: state\n"
      "pending/running and tag:ghr:environment; application, type and owner matched client-side), and\n"
      "the reason is given. The meta item and the index count are read concurrently. Nothing is written.\n"
      "\n"
      "Output: the count on stdout and its source on stderr; with --json one object on stdout:\n"
      "  {\"count\":N,\"source\":\"cache\"|\"ec2\",\"age_ms\":N|null,\"reason\":R,\"detail\":\"...\"}\n"
      "where R is none, meta_missing, environment_mismatch, heartbeat_stale, reconcile_overdue or\n"
      "cache_read_failed.\n"
      "Exit status: 0 with an answer; 1 when neither the cache nor EC2 could answer (the reason is on\n"
      "stderr, and as {\"error\":...,\"code\":...} on stdout with --json); 2 on usage errors.");
  add_cache_flags(cmd, flags->cache, /*environment_required=*/true);
  cmd->add_option("--type", flags->type, "Runner type, the ghr:Type tag: Org or Repo")
      ->required()
      ->check(CLI::IsMember({"Org", "Repo"}));
  cmd->add_option("--owner", flags->owner, "Runner owner, the ghr:Owner tag: an org, or owner/repo")->required();
  cmd->add_flag("--json", flags->json, "Print one JSON object (see above)");
  cmd->callback([flags, &exit_code] { exit_code = run_count(*flags); });
}

}  // namespace rcc::cli
