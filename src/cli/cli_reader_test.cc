// `rcc count`, `rcc inspect` and `rcc reconcile` run as the real binary against dynalite and the in-process
// EC2 test server.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/dynalite.h"
#include "testing/ec2_server.h"
#include "testing/fakes.h"
#include "testing/rcc_command.h"
#include "rcc/dynamo_store.h"

namespace rcc {
namespace {

using testing::kProdOnly;
using testing::runner_tags;

using nlohmann::json;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string instance_id(int n) { return testing::instance_id(0x5000 + static_cast<unsigned>(n)); }

class CliReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dynalite = testing::Dynalite::shared();
    ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
    dynalite_ = *dynalite;
    table_ = testing::unique_table_name("cli-reader");
    AwsClient admin = dynalite_->client();
    ASSERT_TRUE(testing::create_runner_table(admin, table_).ok());
    store_ = std::make_unique<DynamoStore>(dynalite_->client(), DynamoStoreOptions{table_, 0});
    Ec2ServerOptions options;
    options.burst = 0;
    auto server = Ec2TestServer::start(options);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    ec2_ = std::move(server).value();
  }

  // Runs `rcc <args>` with fake credentials, DynamoDB on dynalite and EC2 on the test server; stdout
  // captured, stderr appended to it when `with_stderr`.
  testing::CommandRun rcc(const std::string& args, const std::string& env = "", bool with_stderr = false) {
    return testing::run_rcc(RCC_BINARY, args, dynalite_->endpoint(), ec2_->endpoint(), env, with_stderr);
  }

  void table_runner(int n, const std::string& owner, std::int64_t at_ms) {
    const InstanceIdentity identity = identify(runner_tags("prod", "Org", owner), "prod");
    auto written = store_->apply(
        make_transition(WriteMode::kUpsert, instance_id(n), InstanceState::kRunning, at_ms / 1000, at_ms, 86400,
                        identity));
    ASSERT_TRUE(written.ok()) << written.status().to_string();
  }

  void ec2_runner(int n, const std::string& owner, InstanceState state = InstanceState::kRunning) {
    ec2_->launch(Ec2Instance{instance_id(n), state, runner_tags("prod", "Org", owner), 0});
  }

  void stamp_fresh() {
    const std::int64_t now = now_ms();
    ASSERT_TRUE(store_->stamp_heartbeat(now, kProdOnly).ok());
    ReconcileReport report;
    report.started_ms = now - 1000;
    report.finished_ms = now;
    report.ec2_active = 2;
    report.table_active = 3;
    report.removed = 1;
    ASSERT_TRUE(store_->record_reconcile(report).ok());
  }

  std::string count_args(const std::string& owner = "acme") {
    return "count --table " + table_ + " --environment prod --type Org --owner " + owner + " --json";
  }

  testing::Dynalite* dynalite_ = nullptr;
  std::string table_;
  std::unique_ptr<DynamoStore> store_;
  std::unique_ptr<Ec2TestServer> ec2_;
};

TEST_F(CliReaderTest, CountFromAFreshCacheMakesNoEc2Call) {
  stamp_fresh();
  const std::int64_t now = now_ms();
  for (int n = 0; n < 3; ++n) table_runner(n, "acme", now - 60000);
  table_runner(3, "globex", now - 60000);
  ec2_runner(9, "acme");
  testing::CommandRun run = rcc(count_args());
  ASSERT_EQ(run.status, 0) << run.out;
  const json answer = json::parse(run.out);
  EXPECT_EQ(answer["count"], 3);
  EXPECT_EQ(answer["source"], "cache");
  EXPECT_EQ(answer["reason"], "none");
  EXPECT_TRUE(answer["age_ms"].is_number_integer());
  EXPECT_GE(answer["age_ms"].get<std::int64_t>(), 0);
  EXPECT_EQ(ec2_->requests(), 0);

  testing::CommandRun text = rcc("count --table " + table_ + " --environment prod --type Org --owner acme");
  ASSERT_EQ(text.status, 0);
  EXPECT_EQ(text.out, "3\n");
}

TEST_F(CliReaderTest, CountFallsBackToEc2AndSaysWhy) {
  table_runner(0, "acme", now_ms());
  ec2_runner(1, "acme");
  ec2_runner(2, "acme", InstanceState::kPending);
  ec2_runner(3, "acme", InstanceState::kStopped);
  ec2_runner(4, "globex");
  testing::CommandRun run = rcc(count_args());
  ASSERT_EQ(run.status, 0) << run.out;
  json answer = json::parse(run.out);
  EXPECT_EQ(answer["count"], 2);
  EXPECT_EQ(answer["source"], "ec2");
  EXPECT_EQ(answer["reason"], "meta_missing");
  EXPECT_TRUE(answer["age_ms"].is_null());

  // RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS mirrors --stale-threshold-ms: a heartbeat 5 s old is stale at 1 s.
  ASSERT_TRUE(store_->stamp_heartbeat(now_ms() - 5000, kProdOnly).ok());
  ReconcileReport report;
  report.finished_ms = now_ms();
  ASSERT_TRUE(store_->record_reconcile(report).ok());
  run = rcc(count_args(), "RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS=1000");
  ASSERT_EQ(run.status, 0) << run.out;
  answer = json::parse(run.out);
  EXPECT_EQ(answer["reason"], "heartbeat_stale");
  EXPECT_GE(answer["age_ms"].get<std::int64_t>(), 5000);
  EXPECT_EQ(answer["count"], 2);
  run = rcc(count_args() + " --stale-threshold-ms 600000");
  answer = json::parse(run.out);
  EXPECT_EQ(answer["source"], "cache");
  EXPECT_EQ(answer["count"], 1);
}

TEST_F(CliReaderTest, TableAndEnvironmentComeFromTheEnvironment) {
  stamp_fresh();
  table_runner(0, "acme", now_ms());
  testing::CommandRun run = rcc("count --type Org --owner acme --json",
                   "RUNNER_COUNT_CACHE_TABLE_NAME=" + table_ + " ENVIRONMENT_FILTER=prod");
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_EQ(json::parse(run.out)["count"], 1);
}

TEST_F(CliReaderTest, CountExitsOneWhenNeitherCanAnswer) {
  ec2_->throttle_next(1000);
  testing::CommandRun run = rcc("count --table no-such-table --environment prod --type Org --owner acme --json");
  EXPECT_EQ(run.status, 1) << run.out;
  const json error = json::parse(run.out);
  EXPECT_EQ(error["code"], "throttled");
  const std::string message = error["error"];
  EXPECT_NE(message.find("cache_read_failed"), std::string::npos) << message;
  EXPECT_NE(message.find("ResourceNotFoundException"), std::string::npos) << message;
  EXPECT_NE(message.find("RequestLimitExceeded"), std::string::npos) << message;
  EXPECT_GE(ec2_->stats().throttled, 2);  // the fallback retried
}

TEST_F(CliReaderTest, UsageErrorsExitTwo) {
  EXPECT_EQ(rcc("count --table t --environment prod --owner acme 2>/dev/null").status, 2);
  EXPECT_EQ(rcc("count --table t --environment prod --type Team --owner acme 2>/dev/null").status, 2);
  EXPECT_EQ(rcc("count --environment prod --type Org --owner acme 2>/dev/null").status, 2);
  EXPECT_EQ(rcc("count --table t --environment prod --type Org --owner acme --stale-threshold-ms -5 2>/dev/null").status,
            2);
  EXPECT_EQ(rcc("inspect --table t --key not-a-key 2>/dev/null").status, 2);
  EXPECT_EQ(rcc("reconcile --table t 2>/dev/null").status, 2);
}

TEST_F(CliReaderTest, EveryCommandHasACompleteHelp) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> expected = {
      {"count",
       {"--table", "--environment", "--type", "--owner", "--json", "--stale-threshold-ms", "--reconcile-interval-s",
        "--region", "--profile", "--endpoint-url", "RUNNER_COUNT_CACHE_TABLE_NAME",
        "RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS", "ENVIRONMENT_FILTER", "RECONCILE_INTERVAL_S", "Exit status"}},
      {"inspect", {"--table", "--environment", "--key", "--active", "--json", "--endpoint-url", "Exit status"}},
      {"reconcile", {"--table", "--environment", "--dry-run", "--json", "--grace-ms", "--ttl-seconds", "Exit status"}},
      {"handle",
       {"--table", "--environment", "--event", "--ttl-seconds", "--log-level", "--metrics-namespace",
        "--stale-threshold-ms", "--reconcile-interval-s", "--endpoint-url", "TTL_SECONDS", "LOG_LEVEL",
        "METRICS_NAMESPACE", "Exit 0"}},
  };
  for (const auto& [command, flags] : expected) {
    testing::CommandRun help = rcc(command + " --help");
    EXPECT_EQ(help.status, 0);
    for (const auto& flag : flags) EXPECT_NE(help.out.find(flag), std::string::npos) << command << ": " << flag;
  }
}

TEST_F(CliReaderTest, InspectShowsItemsAndMeta) {
  stamp_fresh();
  const std::int64_t at = now_ms() - 30000;
  table_runner(0, "acme", at);
  table_runner(1, "globex", at);
  testing::CommandRun run = rcc("inspect --table " + table_ + " --json");
  ASSERT_EQ(run.status, 0) << run.out;
  json out = json::parse(run.out);
  ASSERT_EQ(out["items"].size(), 2u);
  EXPECT_EQ(out["items"][0]["key"], "prod#Org#acme");
  EXPECT_EQ(out["items"][0]["state"], "running");
  EXPECT_EQ(out["items"][0]["active"], true);
  EXPECT_EQ(out["items"][0]["last_event"], format_rfc3339(at / 1000 * 1000));
  EXPECT_EQ(out["meta"]["present"], true);
  EXPECT_EQ(out["meta"]["fresh"], true);
  EXPECT_EQ(out["meta"]["last_reconcile"]["removed"], 1);

  run = rcc("inspect --table " + table_ + " --key 'prod#Org#globex' --json");
  ASSERT_EQ(run.status, 0) << run.out;
  out = json::parse(run.out);
  ASSERT_EQ(out["items"].size(), 1u);
  EXPECT_EQ(out["items"][0]["instance_id"], instance_id(1));

  run = rcc("inspect --table " + table_);
  ASSERT_EQ(run.status, 0) << run.out;
  for (const char* text : {"INSTANCE", "STATE", "KEY", "LAST EVENT", "UPDATED", "heartbeat", "last reconcile",
                           "reconcile drift", "verdict", "fresh"}) {
    EXPECT_NE(run.out.find(text), std::string::npos) << text << " missing from:\n" << run.out;
  }
  EXPECT_NE(run.out.find(instance_id(0)), std::string::npos) << run.out;
  // Columns are aligned: the STATE header starts where every row's state starts.
  const auto header_end = run.out.find('\n');
  const auto state_col = run.out.find("STATE");
  const auto row = run.out.substr(header_end + 1, run.out.find('\n', header_end + 1) - header_end - 1);
  EXPECT_EQ(row.find("running"), state_col) << run.out;
}

TEST_F(CliReaderTest, ReconcileDryRunFindsThenReconcileRepairs) {
  const std::int64_t long_ago = now_ms() - 3'600'000;
  table_runner(0, "acme", long_ago);  // active in the table, terminated in EC2
  ec2_->launch(Ec2Instance{instance_id(0), InstanceState::kTerminated, runner_tags("prod", "Org", "acme"), 0});
  ec2_runner(1, "acme");  // running in EC2, unknown to the table
  ec2_runner(2, "acme");

  testing::CommandRun dry = rcc("reconcile --table " + table_ + " --environment prod --dry-run --json");
  ASSERT_EQ(dry.status, 0) << dry.out;
  json out = json::parse(dry.out);
  EXPECT_EQ(out["dry_run"], true);
  EXPECT_EQ(out["report"]["added"], 2);
  EXPECT_EQ(out["report"]["removed"], 1);
  for (const auto& finding : out["findings"]) EXPECT_EQ(finding["written"], false);
  auto meta = store_->get_meta();
  ASSERT_TRUE(meta.ok());
  EXPECT_FALSE(meta->has_value()) << "a dry run wrote the meta item";
  EXPECT_EQ(*store_->count_active("prod#Org#acme"), 1);

  testing::CommandRun real = rcc("reconcile --table " + table_ + " --environment prod");
  ASSERT_EQ(real.status, 0) << real.out;
  EXPECT_NE(real.out.find("added " + instance_id(1)), std::string::npos) << real.out;
  EXPECT_NE(real.out.find("removed " + instance_id(0)), std::string::npos) << real.out;
  EXPECT_NE(real.out.find("repaired"), std::string::npos) << real.out;
  EXPECT_EQ(*store_->count_active("prod#Org#acme"), 2);

  ASSERT_TRUE(store_->stamp_heartbeat(now_ms(), kProdOnly).ok());
  testing::CommandRun count = rcc(count_args());
  ASSERT_EQ(count.status, 0) << count.out;
  const json answer = json::parse(count.out);
  EXPECT_EQ(answer["source"], "cache") << count.out;
  EXPECT_EQ(answer["count"], 2);
}

// `rcc handle` runs one event through the counter function's handler, like one Lambda invocation.
TEST_F(CliReaderTest, HandleAppliesOneEventLikeTheFunction) {
  ec2_->launch(Ec2Instance{instance_id(7), InstanceState::kPending, runner_tags("prod", "Org", "acme"), 0});
  auto write_event = [](const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + "/rcc-handle-" + name + ".json";
    FILE* f = std::fopen(path.c_str(), "w");
    EXPECT_NE(f, nullptr);
    if (f != nullptr) {
      std::fputs(text.c_str(), f);
      std::fclose(f);
    }
    return path;
  };
  const InstanceEvent pending{instance_id(7), InstanceState::kPending, now_ms() / 1000, "e-1"};
  const std::string event_file = write_event("pending", format_instance_event(pending));
  const std::string flags = "handle --table " + table_ + " --environment prod ";
  testing::CommandRun applied = rcc(flags + "< " + event_file);
  ASSERT_EQ(applied.status, 0) << applied.out;
  EXPECT_NE(applied.out.find("applied"), std::string::npos) << applied.out;
  EXPECT_EQ(*store_->count_active("prod#Org#acme"), 1);
  EXPECT_EQ(ec2_->requests(), 1) << "one tag lookup for the new instance";

  testing::CommandRun again = rcc(flags + "--event " + event_file);
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_NE(again.out.find("duplicate_or_late"), std::string::npos) << again.out;
  EXPECT_EQ(*store_->count_active("prod#Org#acme"), 1);
  EXPECT_EQ(ec2_->requests(), 1) << "a known instance costs no EC2 call";

  testing::CommandRun ignored = rcc(flags + "< " + write_event("foreign", R"({"source":"aws.s3"})"));
  ASSERT_EQ(ignored.status, 0) << ignored.out;
  EXPECT_NE(ignored.out.find("ignored"), std::string::npos) << ignored.out;

  // A lookup that keeps failing fails the call (the function would be retried), naming the error type.
  ec2_->launch(Ec2Instance{instance_id(8), InstanceState::kPending, runner_tags("prod", "Org", "acme"), 0});
  ec2_->fail_next(1000, 500, "InternalError");
  const InstanceEvent other{instance_id(8), InstanceState::kPending, now_ms() / 1000, "e-2"};
  testing::CommandRun failed = rcc(flags + "< " + write_event("other", format_instance_event(other)), "", /*with_stderr=*/true);
  EXPECT_EQ(failed.status, 1) << failed.out;
  EXPECT_NE(failed.out.find("Unavailable"), std::string::npos) << failed.out;
  EXPECT_EQ(*store_->get(instance_id(8)), std::nullopt) << "a failed lookup must record nothing";
  ec2_->clear_faults();

  testing::CommandRun usage = rcc("handle --table " + table_ + " --environment prod --ttl-seconds 0 < /dev/null");
  EXPECT_EQ(usage.status, 2);
}

// Regression: `rcc handle` exited 1 without a region while count/inspect/reconcile/table exited 2, and
// `rcc replay`/`rcc simulate` exited 2 without credentials while the others exited 1. One rule now: a
// usage problem (no region) exits 2, any other configuration failure (no credentials) exits 1.
TEST_F(CliReaderTest, ConfigurationFailuresExitTheSameWayInEveryCommand) {
  const std::string inventory = ::testing::TempDir() + "/rcc-config-inventory.json";
  if (FILE* f = std::fopen(inventory.c_str(), "w"); f != nullptr) {
    std::fputs(R"({"instances":[]})", f);
    std::fclose(f);
  }
  const std::string table = " --table " + table_ + " ";
  const std::vector<std::string> commands = {
      "handle" + table + "--environment prod < /dev/null",
      "count" + table + "--environment prod --type Org --owner acme",
      "inspect" + table,
      "reconcile" + table + "--environment prod",
      "table create" + table,
      "replay --store dynamodb" + table + "--environment prod --inventory " + inventory + " --events - < /dev/null",
      "simulate --store dynamodb" + table,
  };
  // Empty variables count as unset; the missing files keep the caller's profile out.
  const std::string no_profile = "AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent ";
  for (const std::string& command : commands) {
    testing::CommandRun no_region = rcc(command, no_profile + "AWS_REGION= AWS_DEFAULT_REGION=", /*with_stderr=*/true);
    EXPECT_EQ(no_region.status, 2) << command << ": " << no_region.out;
    EXPECT_NE(no_region.out.find("no AWS region"), std::string::npos) << command << ": " << no_region.out;

    testing::CommandRun no_credentials =
        rcc(command, no_profile + "AWS_ACCESS_KEY_ID= AWS_SECRET_ACCESS_KEY=", /*with_stderr=*/true);
    EXPECT_EQ(no_credentials.status, 1) << command << ": " << no_credentials.out;
    EXPECT_NE(no_credentials.out.find("no AWS credentials"), std::string::npos) << command << ": " << no_credentials.out;
  }
  EXPECT_EQ(ec2_->requests(), 0);
}

}  // namespace
}  // namespace rcc
