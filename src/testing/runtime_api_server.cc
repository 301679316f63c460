#include "testing/runtime_api_server.h"

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>

#include "testing/http_test_server.h"

namespace rcc {

namespace {

constexpr std::string_view kPrefix = "/2018-06-01/runtime/";

struct Queued {
  std::string request_id;
  std::string payload;
  std::string trace_id;
};

std::string make_request_id(std::uint64_t n) {
  char text[40];
  std::snprintf(text, sizeof text, "8476a536-e9f4-11e8-9739-%012llx", static_cast<unsigned long long>(n));
  return text;
}

std::int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TestHttpAnswer json_answer(int status, std::string body) {
  TestHttpAnswer answer;
  answer.response.status = status;
  answer.response.headers = {{"Content-Type", "application/json"}};
  answer.response.body = std::move(body);
  return answer;
}

}  // namespace

struct RuntimeApiServer::State {
  RuntimeApiServerOptions options;
  std::unique_ptr<TestHttpServer> server;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  bool stopping = false;
  std::deque<Queued> queue;
  std::deque<RuntimeFault> faults;
  // Waiting for an answer, with when each was handed out.
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> handed_out;
  std::map<std::string, RuntimePost, std::less<>> answers;
  std::vector<RuntimePost> posts;
  std::uint64_t next_id = 1;
  std::int64_t next_requests = 0;
  std::int64_t without_id = 0;
  std::optional<std::chrono::steady_clock::time_point> first_next;
  std::int64_t violations = 0;
  bool init_error = false;

  TestHttpAnswer handle(const HttpRequest& request);
  TestHttpAnswer handle_next();
};

TestHttpAnswer RuntimeApiServer::State::handle_next() {
  std::unique_lock lock(mu);
  ++next_requests;
  if (!first_next) first_next = std::chrono::steady_clock::now();
  cv.notify_all();
  cv.wait(lock, [&] { return stopping || !queue.empty(); });
  if (stopping) {
    TestHttpAnswer answer = json_answer(503, R"({"errorType":"ShuttingDown"})");
    answer.kind = TestHttpAnswer::Kind::kRespondAndClose;
    return answer;
  }
  std::optional<RuntimeFault> fault;
  if (!faults.empty()) {
    fault = faults.front();
    faults.pop_front();
  }
  if (fault == RuntimeFault::kCloseConnection) return TestHttpAnswer{TestHttpAnswer::Kind::kDrop, {}};
  if (fault == RuntimeFault::kServerError) {
    return json_answer(500, R"({"errorMessage":"injected failure","errorType":"ServiceException"})");
  }
  Queued item = std::move(queue.front());
  queue.pop_front();
  if (fault == RuntimeFault::kNoRequestId) {
    ++without_id;
  } else {
    handed_out.emplace(item.request_id, std::chrono::steady_clock::now());
  }
  lock.unlock();

  TestHttpAnswer answer = json_answer(200, std::move(item.payload));
  auto& headers = answer.response.headers;
  if (fault != RuntimeFault::kNoRequestId) headers.emplace_back("Lambda-Runtime-Aws-Request-Id", item.request_id);
  if (fault != RuntimeFault::kNoDeadline) {
    headers.emplace_back("Lambda-Runtime-Deadline-Ms",
                         std::to_string(epoch_ms() + options.invocation_timeout.count()));
  }
  headers.emplace_back("Lambda-Runtime-Invoked-Function-Arn", options.function_arn);
  if (!item.trace_id.empty()) headers.emplace_back("Lambda-Runtime-Trace-Id", item.trace_id);
  return answer;
}

TestHttpAnswer RuntimeApiServer::State::handle(const HttpRequest& request) {
  const std::string_view target(request.url);
  if (target.substr(0, kPrefix.size()) != kPrefix) return json_answer(404, R"({"errorType":"UnknownPath"})");
  const std::string_view path = target.substr(kPrefix.size());
  if (path == "invocation/next") {
    if (request.method != "GET") return json_answer(405, R"({"errorType":"MethodNotAllowed"})");
    return handle_next();
  }
  if (request.method != "POST") return json_answer(405, R"({"errorType":"MethodNotAllowed"})");

  RuntimePost post;
  post.body = request.body;
  post.error_type = std::string(request_header(request, "Lambda-Runtime-Function-Error-Type"));
  post.content_type = std::string(request_header(request, "Content-Type"));

  if (path == "init/error") {
    post.kind = RuntimePost::Kind::kInitError;
    std::lock_guard lock(mu);
    posts.push_back(post);
    init_error = true;
    cv.notify_all();
    return json_answer(202, R"({"status":"OK"})");
  }

  constexpr std::string_view kInvocation = "invocation/";
  if (path.substr(0, kInvocation.size()) == kInvocation) {
    const std::string_view rest = path.substr(kInvocation.size());
    const auto slash = rest.rfind('/');
    if (slash != std::string_view::npos) {
      const std::string_view id = rest.substr(0, slash);
      const std::string_view verb = rest.substr(slash + 1);
      if (verb == "response" || verb == "error") {
        post.kind = verb == "response" ? RuntimePost::Kind::kResponse : RuntimePost::Kind::kError;
        post.request_id = std::string(id);
        std::lock_guard lock(mu);
        posts.push_back(post);
        auto it = handed_out.find(id);
        if (it == handed_out.end()) {
          ++violations;
          return json_answer(400, R"({"errorMessage":"unknown or answered request id","errorType":"InvalidRequestID"})");
        }
        post.after_handout =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - it->second);
        handed_out.erase(it);
        answers.emplace(post.request_id, post);
        cv.notify_all();
        return json_answer(202, R"({"status":"OK"})");
      }
    }
  }
  return json_answer(404, R"({"errorType":"UnknownPath"})");
}

Result<std::unique_ptr<RuntimeApiServer>> RuntimeApiServer::start(RuntimeApiServerOptions options) {
  auto state = std::make_shared<State>();
  state->options = std::move(options);
  TestHttpServerOptions server_options;
  server_options.host = state->options.host;
  server_options.port = state->options.port;
  server_options.body_limit = 6 * 1024 * 1024;  // Lambda's synchronous payload limit
  auto server = TestHttpServer::start(server_options, [raw = state.get()](const HttpRequest& request) {
    return raw->handle(request);
  });
  if (!server.ok()) return server.status().with_context("runtime api server");
  state->server = std::move(*server);
  return std::unique_ptr<RuntimeApiServer>(new RuntimeApiServer(std::move(state)));
}

RuntimeApiServer::RuntimeApiServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

RuntimeApiServer::~RuntimeApiServer() { stop(); }

void RuntimeApiServer::stop() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
    state_->cv.notify_all();  // wakes the handlers waiting in /next before the server joins them
  }
  state_->server->stop();
}

std::uint16_t RuntimeApiServer::port() const { return state_->server->port(); }

std::string RuntimeApiServer::endpoint() const {
  return state_->options.host + ":" + std::to_string(port());
}

std::string RuntimeApiServer::enqueue(std::string payload, std::string trace_id) {
  std::lock_guard lock(state_->mu);
  Queued item{make_request_id(state_->next_id++), std::move(payload), std::move(trace_id)};
  std::string id = item.request_id;
  state_->queue.push_back(std::move(item));
  state_->cv.notify_all();
  return id;
}

void RuntimeApiServer::fault_next(RuntimeFault fault, int count) {
  std::lock_guard lock(state_->mu);
  for (int i = 0; i < count; ++i) state_->faults.push_back(fault);
}

std::int64_t RuntimeApiServer::handed_out_without_id() const {
  std::lock_guard lock(state_->mu);
  return state_->without_id;
}

bool RuntimeApiServer::wait_for_answers(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->answers.size() >= count; });
}

bool RuntimeApiServer::wait_for_init_error(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->init_error; });
}

bool RuntimeApiServer::wait_for_next_requests(std::int64_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->next_requests >= count; });
}

std::vector<RuntimePost> RuntimeApiServer::posts() const {
  std::lock_guard lock(state_->mu);
  return state_->posts;
}

std::optional<RuntimePost> RuntimeApiServer::answer(std::string_view request_id) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->answers.find(request_id);
  if (it == state_->answers.end()) return std::nullopt;
  return it->second;
}

std::int64_t RuntimeApiServer::next_requests() const {
  std::lock_guard lock(state_->mu);
  return state_->next_requests;
}

std::optional<std::chrono::steady_clock::time_point> RuntimeApiServer::first_next_time() const {
  std::lock_guard lock(state_->mu);
  return state_->first_next;
}

std::int64_t RuntimeApiServer::protocol_violations() const {
  std::lock_guard lock(state_->mu);
  return state_->violations;
}

}  // namespace rcc
