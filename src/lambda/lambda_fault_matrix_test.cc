// The counter function's fault matrix (docs/testing.md): the bootstrap runs under `env -i` against the
// Runtime API test server, dynalite behind the fault proxy, and the EC2 test server, and each test breaks one
// of them. The outcome rules every test asserts:
// - a failed write or lookup is posted to /error (Lambda retries it) and never reported as success, and the
//   retried event then lands exactly once;
// - the process serves the next invocation, or exits 1 with a clear /init/error or log line;
// - no invocation runs past its deadline with nothing posted;
// - no log line carries a secret (secret key, session token, request signature).
// The bootstrap is the x86_64 package's when RCC_LAMBDA_ZIP names one, else this build's `bootstrap` target
// (the same code, dynamically linked).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rcc/dynamo_store.h"
#include "lambda/lambda_runtime.h"
#include "rcc/event.h"
#include "testing/child_process.h"
#include "testing/dynalite.h"
#include "testing/ec2_server.h"
#include "testing/fakes.h"
#include "testing/fault_proxy.h"
#include "testing/log_secrets.h"
#include "testing/runtime_api_server.h"

namespace rcc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kAccessKeyId = "AKIDFAULTMATRIX00001";
constexpr const char* kSecretKey = "fault-matrix-secret-access-key-0123456789";
constexpr const char* kSessionToken = "fault-matrix-session-token-IQoJb3JpZ2luX2VjEXAMPLE";
constexpr milliseconds kInvocationTimeout{4000};
constexpr milliseconds kStall{60000};  // the function's timeout as the Runtime API gives it

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string instance_event(const std::string& id, InstanceState state, std::int64_t time_s) {
  return format_instance_event(InstanceEvent{id, state, time_s, "evt-" + id + "-" + std::to_string(time_s)});
}

std::string scheduled_event(std::int64_t time_s) {
  return R"({"version":"0","id":"89d1a02d-5ec7-412e-82f5-13505f849b41","detail-type":"Scheduled Event",)"
         R"("source":"aws.events","account":"123456789012","time":")" +
         format_rfc3339(time_s * 1000) +
         R"(","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/tick"],"detail":{}})";
}

// A loopback port nothing listens on.
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

class FunctionFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/rcc-fault-matrix-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    if (const char* zip = std::getenv("RCC_LAMBDA_ZIP"); zip != nullptr && *zip != '\0') {
      ASSERT_EQ(std::system(("unzip -q '" + std::string(zip) + "' -d '" + dir_.string() + "'").c_str()), 0);
    } else {
      fs::create_symlink(RCC_BOOTSTRAP, dir_ / "bootstrap");
    }

    auto dynalite = testing::Dynalite::shared();
    ASSERT_TRUE(dynalite.ok()) << dynalite.status().to_string();
    dynalite_ = *dynalite;
    table_ = testing::unique_table_name("fault-matrix");
    AwsClient admin = dynalite_->client();
    ASSERT_TRUE(testing::create_runner_table(admin, table_).ok());

    auto proxy = FaultProxy::start({dynalite_->endpoint(), kAccessKeyId});
    ASSERT_TRUE(proxy.ok()) << proxy.status().to_string();
    proxy_ = std::move(*proxy);

    Ec2ServerOptions ec2_options;
    ec2_options.burst = 0;  // throttles only when injected
    auto ec2 = Ec2TestServer::start(ec2_options);
    ASSERT_TRUE(ec2.ok()) << ec2.status().to_string();
    ec2_ = std::move(*ec2);

    RuntimeApiServerOptions runtime_options;
    runtime_options.invocation_timeout = kInvocationTimeout;
    auto runtime = RuntimeApiServer::start(runtime_options);
    ASSERT_TRUE(runtime.ok()) << runtime.status().to_string();
    runtime_ = std::move(*runtime);
  }

  // Every test: the process's logs carry no secret, whatever it went through.
  void TearDown() override {
    if (runtime_) runtime_->stop();
    if (bootstrap_) {
      bootstrap_->wait(milliseconds(20000));
      std::vector<std::string> secrets = {kSecretKey, kSessionToken};
      if (proxy_) {
        for (const std::string& s : proxy_->signatures()) secrets.push_back(s);
      }
      const std::string logs = bootstrap_->all_output();
      EXPECT_FALSE(logs.empty());
      const auto leaked = testing::leaked_secrets(logs, secrets);
      EXPECT_TRUE(leaked.empty()) << leaked.front() << "\n" << logs;
      bootstrap_.reset();
    }
    if (proxy_) proxy_->stop();
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  // What Lambda puts in a provided.al2023 function's environment, plus the function's own variables;
  // `changes` ("NAME=value" to set, "NAME=" to drop) applied last.
  std::vector<std::string> lambda_env(const std::vector<std::string>& changes = {}) const {
    std::vector<std::string> env = {
        "AWS_LAMBDA_RUNTIME_API=" + runtime_->endpoint(),
        "AWS_REGION=us-east-1",
        "AWS_DEFAULT_REGION=us-east-1",
        std::string("AWS_ACCESS_KEY_ID=") + kAccessKeyId,
        std::string("AWS_SECRET_ACCESS_KEY=") + kSecretKey,
        std::string("AWS_SESSION_TOKEN=") + kSessionToken,
        "AWS_LAMBDA_FUNCTION_NAME=runner-count-cache",
        "_HANDLER=bootstrap",
        "LAMBDA_TASK_ROOT=" + dir_.string(),
        "TZ=:UTC",
        "RUNNER_COUNT_CACHE_TABLE_NAME=" + table_,
        "ENVIRONMENT_FILTER=prod",
        "LOG_LEVEL=debug",
        "AWS_ENDPOINT_URL_DYNAMODB=" + proxy_->endpoint(),
        "AWS_ENDPOINT_URL_EC2=" + ec2_->endpoint(),
    };
    for (const std::string& change : changes) {
      const std::string name = change.substr(0, change.find('=') + 1);
      std::erase_if(env, [&](const std::string& e) { return e.starts_with(name); });
      if (change.size() > name.size()) env.push_back(change);
    }
    return env;
  }

  void start(const std::vector<std::string>& changes = {}) {
    bootstrap_ = std::make_unique<testing::ChildProcess>(std::vector<std::string>{(dir_ / "bootstrap").string()},
                                                         lambda_env(changes), dir_);
    ASSERT_TRUE(bootstrap_->started());
  }

  // Queues `payload` and waits for its answer: at most the invocation timeout plus a margin for a loaded
  // machine (the deadline itself is checked by expect_in_time).
  RuntimePost invoke(const std::string& payload) {
    const std::string id = runtime_->enqueue(payload);
    const auto until = std::chrono::steady_clock::now() + kInvocationTimeout + milliseconds(30000);
    while (std::chrono::steady_clock::now() < until) {
      if (auto answer = runtime_->answer(id)) return *answer;
      std::this_thread::sleep_for(milliseconds(20));
    }
    ADD_FAILURE() << "no answer to " << id << "\n" << (bootstrap_ ? bootstrap_->all_output() : "");
    return RuntimePost{};
  }

  // An /error post for a failure of `type`, sent before the invocation's deadline.
  void expect_error(const RuntimePost& post, const std::string& type) {
    EXPECT_EQ(post.kind, RuntimePost::Kind::kError) << post.body;
    EXPECT_EQ(post.error_type, type) << post.body;
    const json body = json::parse(post.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << post.body;
    EXPECT_EQ(body["errorType"], type);
    EXPECT_FALSE(body["errorMessage"].get<std::string>().empty());
    EXPECT_LT(post.after_handout, kInvocationTimeout) << "posted after the deadline: " << post.body;
  }

  void expect_response(const RuntimePost& post, const std::string& outcome) {
    EXPECT_EQ(post.kind, RuntimePost::Kind::kResponse) << post.body;
    const json body = json::parse(post.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << post.body;
    EXPECT_EQ(body.value("outcome", ""), outcome) << post.body;
  }

  std::int64_t count(const std::string& key = "prod#Org#acme") {
    DynamoStore store(dynalite_->client(), DynamoStoreOptions{table_});
    auto n = store.count_active(key);
    EXPECT_TRUE(n.ok()) << n.status().to_string();
    return n.ok() ? *n : -1;
  }

  // A new runner EC2 knows: its first event needs a tag lookup and a write.
  std::string new_runner(int n) {
    const std::string id = testing::instance_id(0xfa000 + static_cast<unsigned>(n));
    ec2_->launch({id, InstanceState::kRunning, testing::runner_tags("prod", "Org", "acme"), 0});
    return id;
  }

  // The retried event (Lambda's retry) lands exactly once once the fault is gone.
  void expect_retry_lands(const std::string& payload, std::int64_t expected_count) {
    expect_response(invoke(payload), "applied");
    expect_response(invoke(payload), "duplicate_or_late");
    EXPECT_EQ(count(), expected_count);
  }

  fs::path dir_;
  testing::Dynalite* dynalite_ = nullptr;
  std::string table_;
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<Ec2TestServer> ec2_;
  std::unique_ptr<RuntimeApiServer> runtime_;
  std::unique_ptr<testing::ChildProcess> bootstrap_;
  const std::int64_t t0_ = now_s() - 600;
};

// ---- DynamoDB ----

TEST_F(FunctionFaults, DynamoDbUnreachable) {
  start({"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:" + std::to_string(closed_port())});
  const std::string event = instance_event(new_runner(1), InstanceState::kRunning, t0_);
  expect_error(invoke(event), "Unavailable");
  // The process is still serving: a foreign event is acknowledged.
  EXPECT_EQ(invoke(R"({"source":"aws.s3","detail-type":"Object Created"})").kind, RuntimePost::Kind::kResponse);
  EXPECT_EQ(count(), 0);
}

TEST_F(FunctionFaults, DynamoDbKilledMidInvocation) {
  start();
  const std::string event = instance_event(new_runner(1), InstanceState::kRunning, t0_);
  // The item is read and the tags looked up; DynamoDB dies before the write.
  proxy_->go_down_after(2);
  expect_error(invoke(event), "Unavailable");
  EXPECT_EQ(ec2_->stats().succeeded, 1);
  proxy_->come_up();
  expect_retry_lands(event, 1);
}

TEST_F(FunctionFaults, DynamoDbThrottled) {
  start();
  // A short burst of throttling is retried inside the invocation.
  proxy_->answer_next(2, dynamodb_throttling_answer());
  expect_response(invoke(instance_event(new_runner(1), InstanceState::kRunning, t0_)), "applied");
  // Throttling that outlasts the retries fails the invocation.
  const std::string event = instance_event(new_runner(2), InstanceState::kRunning, t0_);
  proxy_->answer_next(1000, dynamodb_throttling_answer());
  expect_error(invoke(event), "Throttled");
  proxy_->clear_faults();
  expect_retry_lands(event, 2);
}

TEST_F(FunctionFaults, DynamoDbServerError) {
  start();
  const std::string event = instance_event(new_runner(1), InstanceState::kRunning, t0_);
  proxy_->answer_next(1000, dynamodb_internal_error_answer());
  const RuntimePost post = invoke(event);
  expect_error(post, "Unavailable");
  EXPECT_NE(post.body.find("InternalServerError"), std::string::npos) << post.body;
  proxy_->clear_faults();
  expect_retry_lands(event, 1);
}

TEST_F(FunctionFaults, DynamoDbSlowBeyondTheTimeout) {
  start();
  const std::string event = instance_event(new_runner(1), InstanceState::kRunning, t0_);
  proxy_->stall_next(1000, kStall);
  expect_error(invoke(event), "Timeout");
  proxy_->clear_faults();
  expect_retry_lands(event, 1);
}

// ---- EC2 (the tag lookup of a new instance, and reconcile on a schedule tick) ----

TEST_F(FunctionFaults, Ec2Throttled) {
  start();
  const std::string event = instance_event(new_runner(1), InstanceState::kRunning, t0_);
  ec2_->throttle_next(1000);
  const RuntimePost post = invoke(event);
  expect_error(post, "Throttled");
  EXPECT_NE(post.body.find("RequestLimitExceeded"), std::string::npos) << post.body;
  EXPECT_GE(ec2_->stats().throttled, 2);  // retried before giving up
  ec2_->clear_faults();
  expect_retry_lands(event, 1);
}

TEST_F(FunctionFaults, Ec2ServerError) {
  start();
  const std::string event = instance_event(new_runner(1), InstanceState::kRunning, t0_);
  ec2_->fail_next(1000, 500, "InternalError");
  expect_error(invoke(event), "Unavailable");
  ec2_->clear_faults();
  expect_retry_lands(event, 1);
}

TEST_F(FunctionFaults, Ec2HtmlErrorPage) {
  start();
  const std::string event = instance_event(new_runner(1), InstanceState::kRunning, t0_);
  ec2_->answer_next(1000, 502, "text/html",
                    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>");
  const RuntimePost post = invoke(event);
  expect_error(post, "Unavailable");
  EXPECT_NE(post.body.find("502"), std::string::npos) << post.body;
  ec2_->clear_faults();
  expect_retry_lands(event, 1);
}

TEST_F(FunctionFaults, Ec2TruncatedOrMalformedXml) {
  start();
  const std::string event = instance_event(new_runner(1), InstanceState::kRunning, t0_);
  ec2_->answer_next(1, 200, "text/xml;charset=UTF-8",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeInstancesResponse xmlns=\"http://ec2."
                    "amazonaws.com/doc/2016-11-15/\"><requestId>1</requestId><reservationSet><item><reserv");
  const RuntimePost truncated = invoke(event);
  expect_error(truncated, "ProtocolError");
  EXPECT_NE(truncated.body.find("well-formed"), std::string::npos) << truncated.body;
  EXPECT_EQ(count(), 0);

  // A tick whose reconcile gets a malformed page fails, and records no reconcile.
  ec2_->answer_next(1, 200, "text/xml", "<DescribeInstancesResponse><reservationSet></item></DescribeInstancesResponse>");
  expect_error(invoke(scheduled_event(now_s())), "ProtocolError");
  DynamoStore store(dynalite_->client(), DynamoStoreOptions{table_});
  const auto meta = store.get_meta();
  ASSERT_TRUE(meta.ok());
  EXPECT_FALSE(meta->has_value() && (*meta)->reconciled_ms.has_value());

  ec2_->clear_faults();
  expect_retry_lands(event, 1);
}

TEST_F(FunctionFaults, Ec2SlowBeyondTheTimeout) {
  start();
  const std::string event = instance_event(new_runner(1), InstanceState::kRunning, t0_);
  ec2_->set_latency(kStall, std::chrono::microseconds(0));
  expect_error(invoke(event), "Timeout");
  ec2_->set_latency(milliseconds(0), std::chrono::microseconds(0));
  expect_retry_lands(event, 1);
}

// ---- The Runtime API ----

TEST_F(FunctionFaults, RuntimeApiClosesTheConnection) {
  runtime_->fault_next(RuntimeFault::kCloseConnection, 2);
  start();
  expect_response(invoke(instance_event(new_runner(1), InstanceState::kRunning, t0_)), "applied");
  EXPECT_EQ(count(), 1);
  EXPECT_NE(bootstrap_->output("stdout.log").find("runtime /next failed, asking again"), std::string::npos);
}

TEST_F(FunctionFaults, RuntimeApiAnswers500) {
  runtime_->fault_next(RuntimeFault::kServerError, kNextAttempts - 1);
  start();
  expect_response(invoke(instance_event(new_runner(1), InstanceState::kRunning, t0_)), "applied");
  // A Runtime API that keeps failing ends the process with a clear last line.
  runtime_->fault_next(RuntimeFault::kServerError, kNextAttempts);
  runtime_->enqueue(instance_event(new_runner(2), InstanceState::kRunning, t0_));
  EXPECT_EQ(bootstrap_->wait(milliseconds(20000)), 1);
  const std::string out = bootstrap_->output("stdout.log");
  EXPECT_NE(out.find("runtime loop ended"), std::string::npos) << out;
  EXPECT_NE(out.find("HTTP 500"), std::string::npos) << out;
  EXPECT_EQ(count(), 1);
}

TEST_F(FunctionFaults, RuntimeApiOmitsTheRequestId) {
  runtime_->fault_next(RuntimeFault::kNoRequestId);
  start();
  // The first invocation cannot be answered without its id (Lambda retries it after its timeout); the
  // process goes on to the next one.
  runtime_->enqueue(instance_event(new_runner(1), InstanceState::kRunning, t0_));
  expect_response(invoke(instance_event(new_runner(2), InstanceState::kRunning, t0_)), "applied");
  EXPECT_EQ(runtime_->handed_out_without_id(), 1);
  EXPECT_EQ(runtime_->protocol_violations(), 0);
  EXPECT_EQ(count(), 1);
  EXPECT_NE(bootstrap_->output("stdout.log").find("Lambda-Runtime-Aws-Request-Id"), std::string::npos);
}

TEST_F(FunctionFaults, RuntimeApiOmitsTheDeadline) {
  runtime_->fault_next(RuntimeFault::kNoDeadline);
  start();
  expect_response(invoke(instance_event(new_runner(1), InstanceState::kRunning, t0_)), "applied");
  EXPECT_EQ(count(), 1);
}

// ---- Configuration ----

TEST_F(FunctionFaults, WrongCredentials) {
  start({"AWS_ACCESS_KEY_ID=AKIDNOTKNOWNTOTHEPROXY"});
  const std::int64_t before = proxy_->requests();
  const RuntimePost post = invoke(instance_event(new_runner(1), InstanceState::kRunning, t0_));
  expect_error(post, "PermissionDenied");
  EXPECT_NE(post.body.find("UnrecognizedClientException"), std::string::npos) << post.body;
  EXPECT_EQ(proxy_->requests() - before, 1) << "a credentials error is not retried";
  EXPECT_EQ(count(), 0);
}

TEST_F(FunctionFaults, MissingRegion) {
  start({"AWS_REGION=", "AWS_DEFAULT_REGION="});
  ASSERT_TRUE(runtime_->wait_for_init_error(milliseconds(30000))) << bootstrap_->all_output();
  EXPECT_EQ(bootstrap_->wait(milliseconds(20000)), 1);
  const auto posts = runtime_->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].error_type, "InvalidConfiguration");
  EXPECT_NE(posts[0].body.find("AWS_REGION"), std::string::npos) << posts[0].body;
  EXPECT_EQ(runtime_->next_requests(), 0);
}

TEST_F(FunctionFaults, MissingTable) {
  start({"RUNNER_COUNT_CACHE_TABLE_NAME=no-such-table"});
  const RuntimePost post = invoke(instance_event(new_runner(1), InstanceState::kRunning, t0_));
  expect_error(post, "NotFound");
  EXPECT_NE(post.body.find("ResourceNotFoundException"), std::string::npos) << post.body;
  // Still serving.
  EXPECT_EQ(invoke(R"({"source":"aws.s3","detail-type":"Object Created"})").kind, RuntimePost::Kind::kResponse);
}

}  // namespace
}  // namespace rcc
