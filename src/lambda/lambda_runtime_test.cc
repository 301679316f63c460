#include "lambda/lambda_runtime.h"

#include <cstdlib>
#include <deque>
#include <new>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rcc {
namespace {

// Answers requests from a script and records what was sent.
class ScriptedHttp : public HttpClient {
 public:
  Result<HttpResponse> send(const HttpRequest& request, const HttpTimeouts& timeouts) override {
    sent.push_back(request);
    request_timeouts.push_back(timeouts.request);
    if (answers.empty()) return Status::Unavailable("connection refused");
    auto answer = std::move(answers.front());
    answers.pop_front();
    return answer;
  }

  void answer_next(std::string request_id, std::string payload, std::string trace_id = "") {
    HttpResponse r;
    r.status = 200;
    r.headers = {{"Lambda-Runtime-Aws-Request-Id", std::move(request_id)},
                 {"Lambda-Runtime-Deadline-Ms", "1542409706888"},
                 {"Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-2:123456789012:function:fn"}};
    if (!trace_id.empty()) r.headers.emplace_back("Lambda-Runtime-Trace-Id", std::move(trace_id));
    r.body = std::move(payload);
    answers.emplace_back(std::move(r));
  }
  void answer_status(int status, std::string body = "") {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    answers.emplace_back(std::move(r));
  }

  std::deque<Result<HttpResponse>> answers;
  std::vector<HttpRequest> sent;
  std::vector<std::chrono::milliseconds> request_timeouts;
};

std::string header_of(const HttpRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(RuntimeClient, NextReadsTheInvocationHeadersWithoutATimeout) {
  ScriptedHttp http;
  http.answer_next("8476a536-e9f4-11e8-9739-2dfe598c3fcd", R"({"a":1})", "Root=1-5bef4de7;Sampled=1");
  RuntimeClient client(http, "127.0.0.1:9001");
  auto invocation = client.next();
  ASSERT_TRUE(invocation.ok()) << invocation.status().to_string();
  EXPECT_EQ(invocation->request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
  EXPECT_EQ(invocation->deadline_ms, 1542409706888);
  EXPECT_EQ(invocation->function_arn, "arn:aws:lambda:us-east-2:123456789012:function:fn");
  EXPECT_EQ(invocation->trace_id, "Root=1-5bef4de7;Sampled=1");
  EXPECT_EQ(invocation->payload, R"({"a":1})");
  ASSERT_EQ(http.sent.size(), 1u);
  EXPECT_EQ(http.sent[0].method, "GET");
  EXPECT_EQ(http.sent[0].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next");
  EXPECT_EQ(http.request_timeouts[0], std::chrono::milliseconds(0));
}

TEST(RuntimeClient, NextRejectsAnswersWithoutRequestIdOrNot200) {
  ScriptedHttp http;
  http.answer_status(200, "{}");
  http.answer_status(500, "boom");
  RuntimeClient client(http, "127.0.0.1:9001");
  EXPECT_EQ(client.next().status().code(), Code::kProtocolError);
  auto second = client.next();
  EXPECT_EQ(second.status().code(), Code::kProtocolError);
  EXPECT_NE(second.status().message().find("500"), std::string::npos);
  EXPECT_EQ(client.next().status().code(), Code::kUnavailable);
}

TEST(RuntimeClient, PostsResponsesAndErrorsToTheirPaths) {
  ScriptedHttp http;
  http.answer_status(202);
  http.answer_status(202);
  http.answer_status(202);
  RuntimeClient client(http, "localhost:9001");
  ASSERT_TRUE(client.post_response("id-1", R"({"ok":true})").ok());
  ASSERT_TRUE(client.post_error("id-2", FunctionError{"Throttled", "RequestLimitExceeded"}).ok());
  ASSERT_TRUE(client.post_init_error(FunctionError{"InvalidConfiguration", "ENVIRONMENT_FILTER is required"}).ok());

  ASSERT_EQ(http.sent.size(), 3u);
  EXPECT_EQ(http.sent[0].method, "POST");
  EXPECT_EQ(http.sent[0].url, "http://localhost:9001/2018-06-01/runtime/invocation/id-1/response");
  EXPECT_EQ(http.sent[0].body, R"({"ok":true})");
  EXPECT_EQ(header_of(http.sent[0], "Lambda-Runtime-Function-Error-Type"), "");

  EXPECT_EQ(http.sent[1].url, "http://localhost:9001/2018-06-01/runtime/invocation/id-2/error");
  EXPECT_EQ(header_of(http.sent[1], "Lambda-Runtime-Function-Error-Type"), "Throttled");
  const auto body = nlohmann::json::parse(http.sent[1].body);
  EXPECT_EQ(body["errorType"], "Throttled");
  EXPECT_EQ(body["errorMessage"], "RequestLimitExceeded");
  EXPECT_EQ(body["stackTrace"], nlohmann::json::array());

  EXPECT_EQ(http.sent[2].url, "http://localhost:9001/2018-06-01/runtime/init/error");
  EXPECT_EQ(header_of(http.sent[2], "Lambda-Runtime-Function-Error-Type"), "InvalidConfiguration");
}

// Regression: the request id went into the path unescaped: "abc/../../init" posted to the init path.
TEST(RuntimeClient, RequestIdStaysOnePathSegment) {
  ScriptedHttp http;
  http.answer_status(202);
  http.answer_status(202);
  RuntimeClient client(http, "localhost:9001");
  ASSERT_TRUE(client.post_response("abc/../../init", "{}").ok());
  ASSERT_TRUE(client.post_error("a b", FunctionError{"Internal", "x"}).ok());
  EXPECT_EQ(http.sent[0].url, "http://localhost:9001/2018-06-01/runtime/invocation/abc%2F%2E%2E%2F%2E%2E%2Finit/response");
  EXPECT_EQ(http.sent[1].url, "http://localhost:9001/2018-06-01/runtime/invocation/a%20b/error");
}

TEST(RuntimeClient, ReportsRejectedPosts) {
  ScriptedHttp http;
  http.answer_status(413, R"({"errorType":"RequestEntityTooLarge"})");
  RuntimeClient client(http, "127.0.0.1:9001");
  const Status s = client.post_response("id", "x");
  EXPECT_EQ(s.code(), Code::kProtocolError);
  EXPECT_NE(s.message().find("413"), std::string::npos);
}

TEST(ErrorBody, IsValidJsonForAnyMessage) {
  const std::string body = error_body(FunctionError{"Unavailable", "bad \"byte\" \xFF\n caf\xC3\xA9"});
  const auto parsed = nlohmann::json::parse(body);
  EXPECT_EQ(parsed["errorMessage"], "bad \"byte\" \xEF\xBF\xBD\n caf\xC3\xA9");
  EXPECT_EQ(parsed["errorType"], "Unavailable");
  EXPECT_TRUE(parsed["stackTrace"].is_array());
}

TEST(ErrorType, NamesEveryCode) {
  EXPECT_EQ(error_type_name(Code::kThrottled), "Throttled");
  EXPECT_EQ(error_type_name(Code::kUnavailable), "Unavailable");
  EXPECT_EQ(error_type_name(Code::kTimeout), "Timeout");
  EXPECT_EQ(error_type_name(Code::kPermissionDenied), "PermissionDenied");
  EXPECT_EQ(function_error(Status::Throttled("slow down")).type, "Throttled");
  EXPECT_EQ(function_error(Status::Throttled("slow down")).message, "slow down");
}

TEST(RuntimeLoop, AnswersEveryInvocationAndSetsTheTraceId) {
  ScriptedHttp http;
  http.answer_next("a", "ok-payload", "Root=1-aaa");
  http.answer_status(202);
  http.answer_next("b", "fail-payload");
  http.answer_status(202);
  // Then /next fails kNextAttempts times in a row: the loop ends.
  RuntimeClient client(http, "127.0.0.1:9001");
  VirtualEnv env;
  std::vector<std::string> traces;
  const Status ended = run_runtime_loop(
      client,
      [&](const Invocation& inv) -> Result<std::string> {
        const char* trace = std::getenv("_X_AMZN_TRACE_ID");
        traces.emplace_back(trace ? trace : "<unset>");
        if (inv.payload == "fail-payload") return Status::Throttled("RequestLimitExceeded");
        return std::string("{\"done\":\"") + inv.request_id + "\"}";
      },
      nullptr, &env);
  EXPECT_EQ(ended.code(), Code::kUnavailable);
  EXPECT_EQ(traces, (std::vector<std::string>{"Root=1-aaa", "<unset>"}));
  ASSERT_EQ(http.sent.size(), 4u + kNextAttempts);
  EXPECT_EQ(http.sent[1].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/a/response");
  EXPECT_EQ(http.sent[1].body, R"({"done":"a"})");
  EXPECT_EQ(http.sent[3].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/b/error");
  EXPECT_EQ(header_of(http.sent[3], "Lambda-Runtime-Function-Error-Type"), "Throttled");
  EXPECT_EQ(nlohmann::json::parse(http.sent[3].body)["errorType"], "Throttled");
}

// A /next that fails (refused, a 500, an answer without a request id) is asked again: the process serves the
// invocation after it instead of exiting; only kNextAttempts failures in a row end the loop.
TEST(RuntimeLoop, AFailedNextIsAskedAgainBeforeTheLoopEnds) {
  ScriptedHttp http;
  http.answers.emplace_back(Status::Unavailable("connection closed"));
  http.answer_status(500, R"({"errorType":"ServiceException"})");
  http.answer_next("a", "{}");
  http.answer_status(202);
  HttpResponse no_id;
  no_id.status = 200;
  no_id.body = "{}";
  http.answers.emplace_back(no_id);
  http.answer_next("b", "{}");
  http.answer_status(202);
  RuntimeClient client(http, "127.0.0.1:9001");
  VirtualEnv env;
  std::vector<std::string> handled;
  std::vector<Code> observed;
  const Status ended = run_runtime_loop(
      client,
      [&](const Invocation& inv) -> Result<std::string> {
        handled.push_back(inv.request_id);
        return std::string("{}");
      },
      [&](const Status& failure) { observed.push_back(failure.code()); }, &env);
  EXPECT_EQ(handled, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(observed, (std::vector<Code>{Code::kUnavailable, Code::kProtocolError, Code::kProtocolError,
                                         Code::kUnavailable, Code::kUnavailable}));
  // One pause on the Env before each /next asked again, none after the last failure.
  EXPECT_EQ(env.sleeps(), 5);
  EXPECT_EQ(env.slept_ms(), 5 * kNextRetryDelay.count());
  EXPECT_EQ(ended.code(), Code::kUnavailable);
  ASSERT_EQ(http.sent.size(), 7u + kNextAttempts);
  EXPECT_EQ(http.sent[3].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/a/response");
}

TEST(RuntimeLoop, EndsWhenAPostFails) {
  ScriptedHttp http;
  http.answer_next("a", "{}");
  http.answer_status(500, "internal");
  http.answer_next("never", "{}");
  RuntimeClient client(http, "127.0.0.1:9001");
  int handled = 0;
  const Status ended = run_runtime_loop(client, [&](const Invocation&) -> Result<std::string> {
    ++handled;
    return std::string("{}");
  });
  EXPECT_EQ(ended.code(), Code::kProtocolError);
  EXPECT_EQ(handled, 1);
}

// A handler that throws does not end the runtime: the exception becomes an "Internal" error posted for
// that request id, and the next invocation is still served.
TEST(RuntimeLoop, AHandlerExceptionIsPostedAsAnInternalErrorAndTheLoopGoesOn) {
  ScriptedHttp http;
  http.answer_next("a", "bad-alloc");
  http.answer_status(202);
  http.answer_next("b", "not json");
  http.answer_status(202);
  http.answer_next("c", "throw-int");
  http.answer_status(202);
  http.answer_next("d", "ok");
  http.answer_status(202);
  RuntimeClient client(http, "127.0.0.1:9001");
  VirtualEnv env;
  std::vector<std::string> handled;
  Status ended;
  EXPECT_NO_THROW(ended = run_runtime_loop(
                      client,
                      [&](const Invocation& inv) -> Result<std::string> {
                        handled.push_back(inv.request_id);
                        if (inv.payload == "bad-alloc") throw std::bad_alloc();
                        if (inv.payload == "throw-int") throw 42;
                        if (inv.payload == "not json") return nlohmann::json::parse(inv.payload).dump();
                        return std::string("{}");
                      },
                      nullptr, &env));
  EXPECT_EQ(ended.code(), Code::kUnavailable);
  EXPECT_EQ(handled, (std::vector<std::string>{"a", "b", "c", "d"}));
  ASSERT_EQ(http.sent.size(), 8u + kNextAttempts);

  EXPECT_EQ(http.sent[1].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/a/error");
  EXPECT_EQ(header_of(http.sent[1], "Lambda-Runtime-Function-Error-Type"), "Internal");
  const auto a = nlohmann::json::parse(http.sent[1].body);
  EXPECT_EQ(a["errorType"], "Internal");
  EXPECT_EQ(a["errorMessage"], std::bad_alloc().what());

  EXPECT_EQ(http.sent[3].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/b/error");
  EXPECT_EQ(header_of(http.sent[3], "Lambda-Runtime-Function-Error-Type"), "Internal");
  const auto b = nlohmann::json::parse(http.sent[3].body);
  EXPECT_EQ(b["errorType"], "Internal");
  EXPECT_NE(b["errorMessage"].get<std::string>().find("parse error"), std::string::npos) << b.dump();

  EXPECT_EQ(http.sent[5].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/c/error");
  EXPECT_EQ(header_of(http.sent[5], "Lambda-Runtime-Function-Error-Type"), "Internal");
  EXPECT_EQ(nlohmann::json::parse(http.sent[5].body)["errorType"], "Internal");

  EXPECT_EQ(http.sent[7].url, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/d/response");
  EXPECT_EQ(http.sent[7].body, "{}");
}

}  // namespace
}  // namespace rcc
