// `rcc count`'s fault matrix (docs/testing.md): the real binary against dynalite behind the fault proxy and
// the EC2 test server, each test breaking one of them. The outcome rules every test asserts: `rcc count`
// answers from EC2 (exit 0, source ec2, the cache's failure named) or exits 1 with both causes named, in
// bounded time; no output line carries a secret (secret key, session token, request signature).
//
// The table holds 3 active runners of prod#Org#acme and EC2 2, so a count says where it came from.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rcc/dynamo_store.h"
#include "testing/dynalite.h"
#include "testing/ec2_server.h"
#include "testing/fakes.h"
#include "testing/fault_proxy.h"
#include "testing/log_secrets.h"
#include "testing/rcc_command.h"

namespace rcc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kAccessKeyId = "AKIDFAULTMATRIX00002";
constexpr const char* kSecretKey = "count-fault-matrix-secret-access-key-9876543210";
constexpr const char* kSessionToken = "count-fault-matrix-session-token-IQoJb3JpZ2luX2VjEXAMPLE";
// Every call has a 10 s request timeout and a 10 s retry budget, and the two sources are asked one after
// the other, so an answer takes at most about 20 s; the bound leaves room for a loaded machine.
constexpr auto kAnswerBound = std::chrono::seconds(45);

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct CountRun {
  int status = -1;
  json out;          // stdout, parsed (discarded when not JSON)
  std::string text;  // stdout and stderr
  std::chrono::steady_clock::duration took{};
};

class CountFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dynalite = testing::Dynalite::shared();
    ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
    dynalite_ = *dynalite;
    table_ = testing::unique_table_name("count-faults");
    AwsClient admin = dynalite_->client();
    ASSERT_TRUE(testing::create_runner_table(admin, table_).ok());
    auto proxy = FaultProxy::start({dynalite_->endpoint(), kAccessKeyId});
    ASSERT_TRUE(proxy.ok()) << proxy.status().to_string();
    proxy_ = std::move(*proxy);
    Ec2ServerOptions options;
    options.burst = 0;
    auto ec2 = Ec2TestServer::start(options);
    ASSERT_TRUE(ec2.ok()) << ec2.status().to_string();
    ec2_ = std::move(*ec2);

    DynamoStore store(dynalite_->client(), DynamoStoreOptions{table_, 0});
    const std::int64_t now = now_ms();
    const InstanceIdentity identity = identify(testing::runner_tags("prod", "Org", "acme"), "prod");
    for (unsigned n = 0; n < 3; ++n) {
      ASSERT_TRUE(store
                      .apply(make_transition(WriteMode::kUpsert, testing::instance_id(0xc000 + n),
                                             InstanceState::kRunning, now / 1000 - 60, now, 86400, identity))
                      .ok());
    }
    for (unsigned n = 0; n < 2; ++n) {
      ec2_->launch({testing::instance_id(0xc000 + n), InstanceState::kRunning,
                    testing::runner_tags("prod", "Org", "acme"), 0});
    }
  }

  // The cache vouches for itself: a heartbeat and a reconcile just now.
  void stamp_fresh() {
    DynamoStore store(dynalite_->client(), DynamoStoreOptions{table_, 0});
    const std::int64_t now = now_ms();
    ASSERT_TRUE(store.stamp_heartbeat(now, testing::kProdOnly).ok());
    ReconcileReport report;
    report.started_ms = now - 1000;
    report.finished_ms = now;
    ASSERT_TRUE(store.record_reconcile(report).ok());
  }

  // `rcc count --json` for prod#Org#acme; `env` ("NAME=value ...") overrides the defaults. Checks the
  // bound on its time and that its output carries no secret.
  CountRun count(const std::string& env = "") {
    const std::string err = testing::unique_table_name("/tmp/rcc-count-faults") + ".err";
    const std::string vars = std::string("AWS_ACCESS_KEY_ID=") + kAccessKeyId + " AWS_SECRET_ACCESS_KEY=" +
                             kSecretKey + " AWS_SESSION_TOKEN=" + kSessionToken + " " + env;
    const auto started = std::chrono::steady_clock::now();
    testing::CommandRun run = testing::run_rcc(
        RCC_BINARY, "count --table " + table_ + " --environment prod --type Org --owner acme --json 2>" + err,
        proxy_->endpoint(), ec2_->endpoint(), vars);
    CountRun out;
    out.took = std::chrono::steady_clock::now() - started;
    out.status = run.status;
    out.out = json::parse(run.out, nullptr, false);
    std::ifstream in(err);
    std::stringstream stderr_text;
    stderr_text << in.rdbuf();
    out.text = run.out + stderr_text.str();
    fs::remove(err);

    EXPECT_LT(out.took, kAnswerBound);
    std::vector<std::string> secrets = {kSecretKey, kSessionToken};
    for (const std::string& s : proxy_->signatures()) secrets.push_back(s);
    const auto leaked = testing::leaked_secrets(out.text, secrets);
    EXPECT_TRUE(leaked.empty()) << leaked.front() << "\n" << out.text;
    return out;
  }

  // Answered from EC2 (2), the cache's failure named with `cause`.
  static void expect_ec2_answer(const CountRun& run, const std::string& cause) {
    ASSERT_EQ(run.status, 0) << run.text;
    EXPECT_EQ(run.out["count"], 2) << run.text;
    EXPECT_EQ(run.out["source"], "ec2");
    EXPECT_EQ(run.out["reason"], "cache_read_failed");
    EXPECT_NE(run.out["detail"].get<std::string>().find(cause), std::string::npos) << run.text;
  }

  // No answer: exit 1, the error naming the cache's reason and EC2's `cause`.
  static void expect_no_answer(const CountRun& run, const std::string& cache_reason, const std::string& cause) {
    ASSERT_EQ(run.status, 1) << run.text;
    ASSERT_TRUE(run.out.is_object()) << run.text;
    const std::string error = run.out["error"];
    EXPECT_NE(error.find(cache_reason), std::string::npos) << error;
    EXPECT_NE(error.find(cause), std::string::npos) << error;
  }

  testing::Dynalite* dynalite_ = nullptr;
  std::string table_;
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<Ec2TestServer> ec2_;
};

TEST_F(CountFaults, FreshCacheAnswersThroughTheProxy) {
  stamp_fresh();
  const CountRun run = count();
  ASSERT_EQ(run.status, 0) << run.text;
  EXPECT_EQ(run.out["count"], 3);
  EXPECT_EQ(run.out["source"], "cache");
  EXPECT_EQ(ec2_->requests(), 0);
}

// ---- DynamoDB (the cache is fresh, so EC2 answers only when the cache read fails) ----

TEST_F(CountFaults, DynamoDbUnreachable) {
  stamp_fresh();
  proxy_->stop();
  expect_ec2_answer(count(), "reading the meta item failed");
}

TEST_F(CountFaults, DynamoDbKilledMidInvocation) {
  stamp_fresh();
  proxy_->go_down_after(1);  // one of the two concurrent reads is answered, then DynamoDB is gone
  expect_ec2_answer(count(), "unavailable");
}

TEST_F(CountFaults, DynamoDbThrottled) {
  stamp_fresh();
  proxy_->answer_next(1000, dynamodb_throttling_answer());
  expect_ec2_answer(count(), "ThrottlingException");
}

TEST_F(CountFaults, DynamoDbServerError) {
  stamp_fresh();
  proxy_->answer_next(1000, dynamodb_internal_error_answer());
  expect_ec2_answer(count(), "InternalServerError");
}

TEST_F(CountFaults, DynamoDbSlowBeyondTheTimeout) {
  stamp_fresh();
  proxy_->stall_next(1000, milliseconds(60000));
  expect_ec2_answer(count(), "timeout");
}

// ---- EC2 (no meta item: the cache cannot vouch for itself, so EC2 must answer) ----

TEST_F(CountFaults, Ec2Throttled) {
  ec2_->throttle_next(1000);
  expect_no_answer(count(), "meta_missing", "RequestLimitExceeded");
}

TEST_F(CountFaults, Ec2ServerError) {
  ec2_->fail_next(1000, 500, "InternalError");
  expect_no_answer(count(), "meta_missing", "InternalError");
}

TEST_F(CountFaults, Ec2HtmlErrorPage) {
  ec2_->answer_next(1000, 502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>");
  expect_no_answer(count(), "meta_missing", "502");
}

TEST_F(CountFaults, Ec2TruncatedOrMalformedXml) {
  ec2_->answer_next(1000, 200, "text/xml",
                    "<?xml version=\"1.0\"?><DescribeInstancesResponse><reservationSet><item><instancesSet>");
  expect_no_answer(count(), "meta_missing", "well-formed");
  ec2_->answer_next(1000, 200, "text/xml", "<DescribeInstancesResponse></item></DescribeInstancesResponse>");
  expect_no_answer(count(), "meta_missing", "well-formed");
}

TEST_F(CountFaults, Ec2SlowBeyondTheTimeout) {
  ec2_->set_latency(milliseconds(60000), std::chrono::microseconds(0));
  expect_no_answer(count(), "meta_missing", "timeout");
}

// ---- Configuration ----

TEST_F(CountFaults, WrongCredentials) {
  stamp_fresh();
  // DynamoDB does not know the key; EC2 refuses it too.
  ec2_->fail_next(1000, 401, "AuthFailure");
  const std::int64_t before = proxy_->requests();
  const CountRun run = count("AWS_ACCESS_KEY_ID=AKIDNOTKNOWNTOTHEPROXY");
  expect_no_answer(run, "UnrecognizedClientException", "AuthFailure");
  EXPECT_EQ(proxy_->requests() - before, 2) << "the two reads, neither retried";
  EXPECT_EQ(ec2_->requests(), 1) << "not retried";
}

TEST_F(CountFaults, MissingRegion) {
  const CountRun run = count("AWS_REGION= AWS_DEFAULT_REGION=");
  EXPECT_EQ(run.status, 2) << run.text;
  EXPECT_NE(run.text.find("AWS_REGION"), std::string::npos) << run.text;
  EXPECT_EQ(proxy_->requests(), 0);
  EXPECT_EQ(ec2_->requests(), 0);
}

TEST_F(CountFaults, MissingTable) {
  stamp_fresh();
  table_ = "no-such-table";
  expect_ec2_answer(count(), "ResourceNotFoundException");
}

}  // namespace
}  // namespace rcc
