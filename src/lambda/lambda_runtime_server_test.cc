// The Runtime API client and loop over the real HTTP client against the in-repo Runtime API test server.
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rcc/http_client.h"
#include "lambda/lambda_runtime.h"
#include "testing/runtime_api_server.h"

namespace rcc {
namespace {

using std::chrono::milliseconds;

TEST(RuntimeApiServer, LoopAnswersEveryInvocationOverHttp) {
  auto server = RuntimeApiServer::start();
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  const std::string ok_id = (*server)->enqueue(R"({"n":1})", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700");
  const std::string fail_id = (*server)->enqueue(R"({"n":2})");
  const std::string utf8_id = (*server)->enqueue("{\"n\":3}");

  Status ended;
  std::vector<std::string> traces;
  std::thread runtime([&] {
    BeastHttpClient http;
    RuntimeClient client(http, (*server)->endpoint());
    ended = run_runtime_loop(client, [&](const Invocation& inv) -> Result<std::string> {
      const char* trace = std::getenv("_X_AMZN_TRACE_ID");
      traces.emplace_back(trace ? trace : "");
      EXPECT_GT(inv.deadline_ms, 0);
      EXPECT_EQ(inv.function_arn, "arn:aws:lambda:us-east-1:123456789012:function:runner-count-cache");
      if (inv.payload == R"({"n":2})") return Status::Throttled("RequestLimitExceeded after 5 attempts");
      if (inv.payload == R"({"n":3})") return Status::Unavailable("caf\xC3\xA9 \xFF");
      return std::string(R"({"ok":true})");
    });
  });

  ASSERT_TRUE((*server)->wait_for_answers(3, milliseconds(10000)));
  // The loop is back in /next, waiting: stopping the server ends it.
  ASSERT_TRUE((*server)->wait_for_next_requests(4, milliseconds(10000)));
  (*server)->stop();
  runtime.join();
  EXPECT_FALSE(ended.ok());

  const auto ok = (*server)->answer(ok_id);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->kind, RuntimePost::Kind::kResponse);
  EXPECT_EQ(ok->body, R"({"ok":true})");

  const auto failed = (*server)->answer(fail_id);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->kind, RuntimePost::Kind::kError);
  EXPECT_EQ(failed->error_type, "Throttled");
  const auto body = nlohmann::json::parse(failed->body);
  EXPECT_EQ(body["errorType"], "Throttled");
  EXPECT_EQ(body["errorMessage"], "RequestLimitExceeded after 5 attempts");
  EXPECT_TRUE(body["stackTrace"].is_array());

  const auto utf8 = (*server)->answer(utf8_id);
  ASSERT_TRUE(utf8.has_value());
  EXPECT_EQ(nlohmann::json::parse(utf8->body)["errorMessage"], "caf\xC3\xA9 \xEF\xBF\xBD");

  EXPECT_EQ(traces, (std::vector<std::string>{"Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700", "", ""}));
  EXPECT_EQ((*server)->protocol_violations(), 0);
}

TEST(RuntimeApiServer, RecordsInitErrorsAndRejectsUnknownIds) {
  auto server = RuntimeApiServer::start();
  ASSERT_TRUE(server.ok());
  BeastHttpClient http;
  RuntimeClient client(http, (*server)->endpoint());
  ASSERT_TRUE(client.post_init_error(FunctionError{"InvalidConfiguration", "ENVIRONMENT_FILTER is required"}).ok());
  ASSERT_TRUE((*server)->wait_for_init_error(milliseconds(1000)));
  const auto posts = (*server)->posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, RuntimePost::Kind::kInitError);
  EXPECT_EQ(posts[0].error_type, "InvalidConfiguration");
  EXPECT_EQ(nlohmann::json::parse(posts[0].body)["errorMessage"], "ENVIRONMENT_FILTER is required");

  const Status rejected = client.post_response("never-handed-out", "{}");
  EXPECT_EQ(rejected.code(), Code::kProtocolError);
  EXPECT_NE(rejected.message().find("400"), std::string::npos);
  EXPECT_EQ((*server)->protocol_violations(), 1);
}

}  // namespace
}  // namespace rcc
