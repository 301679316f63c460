// rcc table create: the cache table as the Terraform module declares it, for local endpoints and tests.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/aws_options.h"
#include "cli/commands.h"
#include "core/text.h"

namespace rcc::cli {
namespace {

struct TableFlags {
  std::string table;
  AwsOverrides aws;
  int wait_s = 60;
  bool json = false;
};

int run_table_create(const TableFlags& flags) {
  if (flags.table.empty()) {
    std::cerr << "rcc table create: --table (or RUNNER_COUNT_CACHE_TABLE_NAME) is required\n";
    return 2;
  }
  auto config = resolve_aws_options(flags.aws);
  if (!config.ok()) {
    std::cerr << "rcc table create: " << config.status().to_string() << '\n';
    return exit_code_for(config.status());
  }
  // Progress lines go to stdout, or to stderr under --json so that stdout holds only the JSON object.
  std::ostream& say = flags.json ? std::cerr : std::cout;
  AwsClient client = make_dynamodb_client(*config);
  auto created = create_table(client, flags.table);
  if (!created.ok()) {
    std::cerr << "rcc table create: " << created.status().to_string() << '\n';
    return 1;
  }
  const bool is_new = *created == CreateTableOutcome::kCreated;
  if (is_new) {
    say << "created table " << flags.table << " at " << config->dynamodb_endpoint
        << ": hash key pk (S), GSI active on active_key (KEYS_ONLY), PAY_PER_REQUEST\n";
  } else {
    // A run interrupted after CreateTable left a table that may still be CREATING and has no TTL: finish
    // the job (both steps are idempotent) rather than report success on a half-made table.
    say << "table " << flags.table << " already exists at " << config->dynamodb_endpoint
        << "; checking that it is ACTIVE and that TTL is enabled\n";
  }
  Status active = wait_table_active(client, flags.table, std::chrono::seconds(flags.wait_s));
  if (!active.ok()) {
    std::cerr << "rcc table create: " << active.to_string() << '\n';
    return 1;
  }
  say << "table " << flags.table << " is ACTIVE\n";
  auto ttl = enable_ttl(client, flags.table);
  if (!ttl.ok()) {
    std::cerr << "rcc table create: enabling TTL on attribute ttl: " << ttl.status().to_string() << '\n';
    return 1;
  }
  if (*ttl == TtlOutcome::kEnabled) {
    say << "TTL enabled on attribute ttl\n";
  } else {
    say << "TTL not enabled: the endpoint does not support UpdateTimeToLive (dynalite does not); "
           "items keep their ttl attribute but do not expire there\n";
  }
  if (flags.json) {
    const nlohmann::json out = {{"table", flags.table},
                                {"created", is_new},
                                {"ttl", *ttl == TtlOutcome::kEnabled ? "enabled" : "unsupported"}};
    std::cout << rcc::dump_json(out) << '\n';
  }
  return 0;
}

}  // namespace

void add_table_command(CLI::App& app, int& exit_code) {
  CLI::App* table = app.add_subcommand("table", "Manage the cache table (for local endpoints and tests).");
  table->require_subcommand(1);
  auto flags = std::make_shared<TableFlags>();
  CLI::App* create = table->add_subcommand(
      "create",
      "Create the cache table exactly as the Terraform module declares it: hash key pk (S), attribute\n"
      "active_key (S), global secondary index `active` on active_key with projection KEYS_ONLY, billing\n"
      "PAY_PER_REQUEST. Waits until the table is ACTIVE, then enables TTL on attribute `ttl` when the\n"
      "endpoint supports UpdateTimeToLive. When the table exists already (say a run interrupted after\n"
      "CreateTable), says so, still waits for ACTIVE and enables TTL (both idempotent), and exits 0.\n"
      "In production the Terraform module owns the table; this command is for local endpoints such as\n"
      "dynalite (--endpoint-url http://127.0.0.1:PORT) and tests.\n"
      "Exit status: 0 created or already there, 1 AWS failure, 2 usage error.");
  add_table_option(create, flags->table);
  add_aws_options(create, flags->aws);
  create->add_option("--wait-seconds", flags->wait_s, "How long to wait for the table to become ACTIVE")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  create->add_flag("--json", flags->json,
                   "Print one JSON object on stdout: {\"table\":T,\"created\":true|false,"
                   "\"ttl\":\"enabled\"|\"unsupported\"} (progress goes to stderr)");
  create->callback([flags, &exit_code] { exit_code = run_table_create(*flags); });
}

}  // namespace rcc::cli
