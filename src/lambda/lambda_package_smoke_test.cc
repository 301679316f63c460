// End-to-end test of a packaged bootstrap: the zip ($RCC_LAMBDA_ZIP) is unpacked into an empty directory and
// `bootstrap` runs under `env -i` with only the variables Lambda sets (optionally under $RCC_LAMBDA_EMULATOR,
// e.g. "qemu-aarch64 -L /"), against the in-repo Runtime API server, dynalite and the
// EC2 test server. Counts are read back from dynalite through DynamoStore.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/child_process.h"
#include "testing/dynalite.h"
#include "testing/ec2_server.h"
#include "rcc/dynamo_store.h"
#include "rcc/event.h"
#include "testing/runtime_api_server.h"

namespace rcc {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr std::int64_t kT0 = 1763000000;  // event seconds
constexpr const char* kTable = "runner-count-cache-smoke";

Tags runner_tags(const std::string& type, const std::string& owner) {
  return Tags{{"ghr:Application", "github-action-runner"}, {"ghr:environment", "prod"}, {"ghr:Type", type},
              {"ghr:Owner", owner}};
}

std::string event(const std::string& id, InstanceState state, std::int64_t time_s) {
  return format_instance_event(InstanceEvent{id, state, time_s, "evt-" + id + "-" + std::to_string(time_s)});
}

std::string scheduled_event(std::int64_t time_s) {
  return R"({"version":"0","id":"89d1a02d-5ec7-412e-82f5-13505f849b41","detail-type":"Scheduled Event",)"
         R"("source":"aws.events","account":"123456789012","time":")" +
         format_rfc3339(time_s * 1000) +
         R"(","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/tick"],"detail":{}})";
}

// The unpacked bootstrap under `env -i`.
class Bootstrap : public testing::ChildProcess {
 public:
  Bootstrap(const fs::path& dir, const std::vector<std::string>& env)
      : ChildProcess({(dir / "bootstrap").string()}, env, dir) {}
};

class LambdaPackageSmoke : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* zip = std::getenv("RCC_LAMBDA_ZIP");
    ASSERT_TRUE(zip != nullptr && fs::exists(zip))
        << "RCC_LAMBDA_ZIP must name a built package (build the lambda-package targets first)";
    char pattern[] = "/tmp/rcc-lambda-smoke-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    const std::string unzip = "unzip -q '" + std::string(zip) + "' -d '" + dir_.string() + "'";
    ASSERT_EQ(std::system(unzip.c_str()), 0);
    ASSERT_TRUE(fs::exists(dir_ / "bootstrap"));

    auto dynalite = testing::Dynalite::start();
    ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
    dynalite_ = std::move(*dynalite);
    AwsClient admin = dynalite_->client();
    ASSERT_TRUE(testing::create_runner_table(admin, kTable).ok());

    Ec2ServerOptions ec2_options;
    ec2_options.burst = 0;  // throttles only when injected
    auto ec2 = Ec2TestServer::start(ec2_options);
    ASSERT_TRUE(ec2.ok()) << ec2.status().to_string();
    ec2_ = std::move(*ec2);

    auto runtime = RuntimeApiServer::start();
    ASSERT_TRUE(runtime.ok()) << runtime.status().to_string();
    runtime_ = std::move(*runtime);
  }

  void TearDown() override {
    if (runtime_) runtime_->stop();
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  // What Lambda puts in a provided.al2023 function's environment, plus the function's own variables.
  std::vector<std::string> lambda_env(bool with_environment_filter = true) const {
    std::vector<std::string> env = {
        "AWS_LAMBDA_RUNTIME_API=" + runtime_->endpoint(),
        "AWS_REGION=us-east-1",
        "AWS_DEFAULT_REGION=us-east-1",
        "AWS_ACCESS_KEY_ID=fake",
        "AWS_SECRET_ACCESS_KEY=fake",
        "AWS_SESSION_TOKEN=fake-session",
        "AWS_LAMBDA_FUNCTION_NAME=runner-count-cache",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
        "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
        "_HANDLER=bootstrap",
        "LAMBDA_TASK_ROOT=" + dir_.string(),
        "LAMBDA_RUNTIME_DIR=/var/runtime",
        "TZ=:UTC",
        "LANG=en_US.UTF-8",
        "PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "RUNNER_COUNT_CACHE_TABLE_NAME=" + std::string(kTable),
        "RECONCILE_INTERVAL_S=300",
        "TTL_SECONDS=86400",
        "LOG_LEVEL=info",
        "AWS_ENDPOINT_URL_DYNAMODB=" + dynalite_->endpoint(),
        "AWS_ENDPOINT_URL_EC2=" + ec2_->endpoint(),
    };
    if (with_environment_filter) env.push_back("ENVIRONMENT_FILTER=prod");
    return env;
  }

  Result<std::int64_t> count(const std::string& key) {
    DynamoStore store(dynalite_->client(), DynamoStoreOptions{kTable});
    return store.count_active(key);
  }

  fs::path dir_;
  std::unique_ptr<testing::Dynalite> dynalite_;
  std::unique_ptr<Ec2TestServer> ec2_;
  std::unique_ptr<RuntimeApiServer> runtime_;
};

TEST_F(LambdaPackageSmoke, CountsEventsAndAnswersEveryInvocation) {
  ec2_->launch({"i-000000000000000a1", InstanceState::kRunning, runner_tags("Org", "acme"), 0});
  ec2_->launch({"i-000000000000000a2", InstanceState::kRunning, runner_tags("Org", "acme"), 0});
  ec2_->launch({"i-000000000000000a3", InstanceState::kTerminated, runner_tags("Org", "acme"), 0});
  ec2_->launch({"i-000000000000000b1", InstanceState::kRunning, runner_tags("Repo", "acme/app"), 0});
  ec2_->launch({"i-000000000000000c1", InstanceState::kStopped, {{"Name", "web"}}, 0});

  Bootstrap bootstrap(dir_, lambda_env());
  ASSERT_TRUE(bootstrap.started());

  // Duplicates and reordering, as EventBridge and Lambda's retries deliver them.
  const std::vector<std::string> events = {
      event("i-000000000000000a1", InstanceState::kRunning, kT0 + 5),
      event("i-000000000000000a1", InstanceState::kPending, kT0),          // late
      event("i-000000000000000a1", InstanceState::kRunning, kT0 + 5),      // duplicate
      event("i-000000000000000a2", InstanceState::kPending, kT0 + 1),
      event("i-000000000000000a3", InstanceState::kPending, kT0 + 2),
      event("i-000000000000000a3", InstanceState::kTerminated, kT0 + 60),
      event("i-000000000000000a3", InstanceState::kRunning, kT0 + 9),      // after its end
      event("i-000000000000000a2", InstanceState::kRunning, kT0 + 7),
      event("i-000000000000000b1", InstanceState::kRunning, kT0 + 3),
      event("i-000000000000000c1", InstanceState::kRunning, kT0 + 3),      // not a runner
      event("i-000000000000000c1", InstanceState::kStopped, kT0 + 30),
      "{\"source\": \"aws.ec2\", truncated",                                // malformed
      R"({"version":"0","id":"1","detail-type":"Object Created","source":"aws.s3",)"
      R"("time":"2025-11-13T02:13:20Z","detail":{}})",                      // foreign
  };
  std::vector<std::string> ids;
  for (const std::string& e : events) ids.push_back(runtime_->enqueue(e, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700"));
  ASSERT_TRUE(runtime_->wait_for_answers(ids.size(), milliseconds(60000))) << bootstrap.output("stderr.log");
  for (const std::string& id : ids) {
    const auto answer = runtime_->answer(id);
    ASSERT_TRUE(answer.has_value()) << id;
    EXPECT_EQ(answer->kind, RuntimePost::Kind::kResponse) << id << ": " << answer->body;
  }
  EXPECT_NE(runtime_->answer(ids[11])->body.find("ignored"), std::string::npos);
  EXPECT_NE(runtime_->answer(ids[12])->body.find("ignored"), std::string::npos);
  EXPECT_EQ(count("prod#Org#acme").value(), 2);
  EXPECT_EQ(count("prod#Repo#acme/app").value(), 1);

  // A throttled lookup is retried inside the invocation and succeeds.
  ec2_->launch({"i-000000000000000a4", InstanceState::kPending, runner_tags("Org", "acme"), 0});
  ec2_->reset_counters();
  ec2_->throttle_next(1);
  const std::string throttled_id = runtime_->enqueue(event("i-000000000000000a4", InstanceState::kPending, kT0 + 70));
  ASSERT_TRUE(runtime_->wait_for_answers(ids.size() + 1, milliseconds(60000)));
  EXPECT_EQ(runtime_->answer(throttled_id)->kind, RuntimePost::Kind::kResponse) << runtime_->answer(throttled_id)->body;
  EXPECT_EQ(ec2_->stats().throttled, 1);
  EXPECT_EQ(ec2_->stats().succeeded, 1);
  EXPECT_EQ(count("prod#Org#acme").value(), 3);

  // A lookup that fails past the retry budget fails the invocation with its cause.
  ec2_->launch({"i-000000000000000a5", InstanceState::kPending, runner_tags("Org", "acme"), 0});
  ec2_->fail_next(1000, 503, "Unavailable");
  const std::string failed_id = runtime_->enqueue(event("i-000000000000000a5", InstanceState::kPending, kT0 + 80));
  ASSERT_TRUE(runtime_->wait_for_answers(ids.size() + 2, milliseconds(60000)));
  ec2_->clear_faults();
  const auto failed = runtime_->answer(failed_id);
  ASSERT_EQ(failed->kind, RuntimePost::Kind::kError) << failed->body;
  EXPECT_EQ(failed->error_type, "Unavailable");
  const auto error = nlohmann::json::parse(failed->body);
  EXPECT_EQ(error["errorType"], "Unavailable");
  EXPECT_FALSE(error["errorMessage"].get<std::string>().empty());
  EXPECT_TRUE(error["stackTrace"].is_array());
  EXPECT_EQ(count("prod#Org#acme").value(), 3);

  // Lambda retries the failed event: it lands once. Then a schedule tick stamps the heartbeat and, never
  // having reconciled, reconciles against EC2, which agrees with the table (no drift).
  const std::string retried_id = runtime_->enqueue(event("i-000000000000000a5", InstanceState::kPending, kT0 + 80));
  const std::string tick_id = runtime_->enqueue(scheduled_event(kT0 + 90));
  ASSERT_TRUE(runtime_->wait_for_answers(ids.size() + 4, milliseconds(60000)));
  EXPECT_EQ(runtime_->answer(retried_id)->kind, RuntimePost::Kind::kResponse);
  const auto tick = runtime_->answer(tick_id);
  ASSERT_EQ(tick->kind, RuntimePost::Kind::kResponse) << tick->body;
  const auto tick_body = nlohmann::json::parse(tick->body);
  EXPECT_EQ(tick_body["reconciled"], 1);
  EXPECT_EQ(tick_body["added"], 0);
  EXPECT_EQ(tick_body["removed"], 0);
  EXPECT_EQ(count("prod#Org#acme").value(), 4);
  EXPECT_EQ(count("prod#Repo#acme/app").value(), 1);
  DynamoStore store(dynalite_->client(), DynamoStoreOptions{kTable});
  const auto meta = store.get_meta();
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_TRUE((*meta)->heartbeat_ms.has_value());
  EXPECT_TRUE((*meta)->reconciled_ms.has_value());

  EXPECT_EQ(runtime_->protocol_violations(), 0);
  runtime_->stop();
  EXPECT_EQ(bootstrap.wait(milliseconds(20000)), 1) << "the loop ends when the Runtime API goes away";

  // Every stdout line is one JSON object: logs with request ids, and EMF documents.
  std::istringstream out(bootstrap.output("stdout.log"));
  int logs = 0;
  int emf = 0;
  for (std::string line; std::getline(out, line);) {
    ASSERT_TRUE(nlohmann::json::accept(line)) << line;
    const auto doc = nlohmann::json::parse(line);
    if (doc.contains("_aws")) {
      ++emf;
      EXPECT_EQ(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "RunnerCountCache");
    } else if (doc.contains("request_id")) {
      ++logs;
    }
  }
  EXPECT_GE(logs, static_cast<int>(ids.size()));
  EXPECT_GE(emf, static_cast<int>(ids.size()));
}

TEST_F(LambdaPackageSmoke, ConfigurationErrorGoesToInitErrorAndExits) {
  Bootstrap bootstrap(dir_, lambda_env(/*with_environment_filter=*/false));
  ASSERT_TRUE(bootstrap.started());
  ASSERT_TRUE(runtime_->wait_for_init_error(milliseconds(30000))) << bootstrap.output("stderr.log");
  EXPECT_EQ(bootstrap.wait(milliseconds(20000)), 1);
  const auto posts = runtime_->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, RuntimePost::Kind::kInitError);
  EXPECT_EQ(posts[0].error_type, "InvalidConfiguration");
  const auto body = nlohmann::json::parse(posts[0].body);
  EXPECT_EQ(body["errorType"], "InvalidConfiguration");
  EXPECT_NE(body["errorMessage"].get<std::string>().find("ENVIRONMENT_FILTER"), std::string::npos);
  EXPECT_EQ(runtime_->next_requests(), 0);
}

}  // namespace
}  // namespace rcc
