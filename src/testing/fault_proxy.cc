#include "testing/fault_proxy.h"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>

#include "rcc/http_client.h"
#include "testing/http_test_server.h"

namespace rcc {

ProxyAnswer dynamodb_throttling_answer() {
  return {400, "application/x-amz-json-1.0",
          R"({"__type":"com.amazon.coral.availability#ThrottlingException",)"
          R"("message":"Rate of requests exceeds the allowed throughput."})"};
}

ProxyAnswer dynamodb_internal_error_answer() {
  return {500, "application/x-amz-json-1.0",
          R"({"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError",)"
          R"("message":"Internal server error"})"};
}

namespace {

struct Fault {
  enum class Kind { kAnswer, kStall, kDrop };
  Kind kind = Kind::kAnswer;
  int count = 0;
  std::string operation;
  ProxyAnswer answer;
  std::chrono::milliseconds delay{0};
};

// The value of `name=` in an Authorization header, up to the next ',' or '/', "" when absent.
std::string_view authorization_part(std::string_view header, std::string_view name, char end) {
  const auto at = header.find(name);
  if (at == std::string_view::npos) return {};
  std::string_view value = header.substr(at + name.size());
  return value.substr(0, value.find_first_of(std::string_view(&end, 1)));
}

bool same_name(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

TestHttpAnswer respond(const ProxyAnswer& answer) {
  TestHttpAnswer out;
  out.response.status = answer.status;
  out.response.headers = {{"Content-Type", answer.content_type}};
  out.response.body = answer.body;
  return out;
}

}  // namespace

struct FaultProxy::State {
  FaultProxyOptions options;
  std::unique_ptr<TestHttpServer> server;

  mutable std::mutex mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::deque<Fault> faults;
  std::optional<int> forward_before_down;  // set: this many more are forwarded, then all are dropped
  std::int64_t requests = 0;
  std::int64_t forwarded = 0;
  std::vector<std::string> signatures;

  TestHttpAnswer handle(const HttpRequest& request);
  TestHttpAnswer forward(const HttpRequest& request);
};

TestHttpAnswer FaultProxy::State::handle(const HttpRequest& request) {
  const std::string_view target = request_header(request, "X-Amz-Target");
  const std::string_view operation = target.substr(target.find('.') == std::string_view::npos ? target.size()
                                                                                              : target.find('.') + 1);
  const std::string_view authorization = request_header(request, "Authorization");
  std::optional<Fault> fault;
  {
    std::unique_lock lock(mu);
    ++requests;
    signatures.emplace_back(authorization_part(authorization, "Signature=", ','));
    if (forward_before_down && *forward_before_down <= 0) return TestHttpAnswer{TestHttpAnswer::Kind::kDrop, {}};
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (!it->operation.empty() && it->operation != operation) continue;
      fault = *it;
      if (--it->count <= 0) faults.erase(it);
      break;
    }
    if (fault && fault->kind == Fault::Kind::kStall) {
      if (stop_cv.wait_for(lock, fault->delay, [&] { return stopping; })) {
        return TestHttpAnswer{TestHttpAnswer::Kind::kDrop, {}};
      }
    }
    if (forward_before_down && (!fault || fault->kind == Fault::Kind::kStall)) --*forward_before_down;
  }
  if (fault && fault->kind == Fault::Kind::kDrop) return TestHttpAnswer{TestHttpAnswer::Kind::kDrop, {}};
  if (fault && fault->kind == Fault::Kind::kAnswer) return respond(fault->answer);

  const std::string_view access_key_id = authorization_part(authorization, "Credential=", '/');
  if (!options.accepted_access_key_id.empty() && access_key_id != options.accepted_access_key_id) {
    return respond({400, "application/x-amz-json-1.0",
                    R"({"__type":"com.amazon.coral.service#UnrecognizedClientException",)"
                    R"("message":"The security token included in the request is invalid."})"});
  }
  return forward(request);
}

TestHttpAnswer FaultProxy::State::forward(const HttpRequest& request) {
  HttpRequest upstream = request;
  upstream.url = options.upstream + request.url;
  // The client sets Host and Content-Length for the upstream connection itself.
  std::erase_if(upstream.headers, [](const auto& header) {
    return same_name(header.first, "Host") || same_name(header.first, "Content-Length") ||
           same_name(header.first, "Connection");
  });
  // One connection per request: the proxy's connection threads share nothing.
  BeastHttpClient client;
  auto response = client.send(upstream, HttpTimeouts{});
  if (!response.ok()) return TestHttpAnswer{TestHttpAnswer::Kind::kDrop, {}};
  {
    std::lock_guard lock(mu);
    ++forwarded;
  }
  TestHttpAnswer out;
  out.response = std::move(*response);
  return out;
}

Result<std::unique_ptr<FaultProxy>> FaultProxy::start(FaultProxyOptions options) {
  auto state = std::make_shared<State>();
  state->options = std::move(options);
  auto server = TestHttpServer::start(TestHttpServerOptions{}, [raw = state.get()](const HttpRequest& request) {
    return raw->handle(request);
  });
  if (!server.ok()) return server.status().with_context("fault proxy");
  state->server = std::move(*server);
  return std::unique_ptr<FaultProxy>(new FaultProxy(std::move(state)));
}

FaultProxy::FaultProxy(std::shared_ptr<State> state) : state_(std::move(state)) {}

FaultProxy::~FaultProxy() { stop(); }

void FaultProxy::stop() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->stop_cv.notify_all();
  state_->server->stop();
}

std::string FaultProxy::endpoint() const { return "http://127.0.0.1:" + std::to_string(state_->server->port()); }

void FaultProxy::answer_next(int count, ProxyAnswer answer, std::string operation) {
  std::lock_guard lock(state_->mu);
  state_->faults.push_back(Fault{Fault::Kind::kAnswer, count, std::move(operation), std::move(answer), {}});
}

void FaultProxy::stall_next(int count, std::chrono::milliseconds delay, std::string operation) {
  std::lock_guard lock(state_->mu);
  state_->faults.push_back(Fault{Fault::Kind::kStall, count, std::move(operation), {}, delay});
}

void FaultProxy::drop_next(int count, std::string operation) {
  std::lock_guard lock(state_->mu);
  state_->faults.push_back(Fault{Fault::Kind::kDrop, count, std::move(operation), {}, {}});
}

void FaultProxy::go_down_after(int n) {
  std::lock_guard lock(state_->mu);
  state_->forward_before_down = n;
}

void FaultProxy::come_up() {
  std::lock_guard lock(state_->mu);
  state_->forward_before_down.reset();
}

void FaultProxy::clear_faults() {
  std::lock_guard lock(state_->mu);
  state_->faults.clear();
  state_->forward_before_down.reset();
}

std::int64_t FaultProxy::requests() const {
  std::lock_guard lock(state_->mu);
  return state_->requests;
}

std::int64_t FaultProxy::forwarded() const {
  std::lock_guard lock(state_->mu);
  return state_->forwarded;
}

std::vector<std::string> FaultProxy::signatures() const {
  std::lock_guard lock(state_->mu);
  return state_->signatures;
}

}  // namespace rcc
