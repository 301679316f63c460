#include "testing/runtime_api_server.h"

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace rcc {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

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

}  // namespace

struct RuntimeApiServer::State {
  RuntimeApiServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;
  std::thread accept_thread;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  bool stopping = false;
  std::vector<std::thread> connection_threads;
  std::set<int> open_fds;
  std::deque<Queued> queue;
  std::set<std::string, std::less<>> handed_out;  // waiting for an answer
  std::map<std::string, RuntimePost, std::less<>> answers;
  std::vector<RuntimePost> posts;
  std::uint64_t next_id = 1;
  std::int64_t next_requests = 0;
  std::optional<std::chrono::steady_clock::time_point> first_next;
  std::int64_t violations = 0;
  bool init_error = false;

  void accept_loop();
  void serve(tcp::socket socket);
  http::response<http::string_body> handle(const http::request<http::string_body>& request, bool& close);
  http::response<http::string_body> handle_next(const http::request<http::string_body>& request, bool& close);
};

namespace {

http::response<http::string_body> json_response(const http::request<http::string_body>& request,
                                                http::status status, std::string body) {
  http::response<http::string_body> response{status, request.version()};
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  response.keep_alive(request.keep_alive());
  response.prepare_payload();
  return response;
}

}  // namespace

void RuntimeApiServer::State::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket(io);
    acceptor.accept(socket, ec);
    std::lock_guard lock(mu);
    if (stopping) return;
    if (ec) continue;
    open_fds.insert(socket.native_handle());
    connection_threads.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
  }
}

void RuntimeApiServer::State::serve(tcp::socket socket) {
  const int fd = socket.native_handle();
  boost::beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> request;
    boost::system::error_code ec;
    http::read(socket, buffer, request, ec);
    if (ec) break;
    bool close = !request.keep_alive();
    auto response = handle(request, close);
    if (close) response.keep_alive(false);
    http::write(socket, response, ec);
    if (ec || close) break;
  }
  {
    std::lock_guard lock(mu);
    open_fds.erase(fd);
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

http::response<http::string_body> RuntimeApiServer::State::handle_next(
    const http::request<http::string_body>& request, bool& close) {
  std::unique_lock lock(mu);
  ++next_requests;
  if (!first_next) first_next = std::chrono::steady_clock::now();
  cv.notify_all();
  cv.wait(lock, [&] { return stopping || !queue.empty(); });
  if (stopping) {
    close = true;
    return json_response(request, http::status::service_unavailable, R"({"errorType":"ShuttingDown"})");
  }
  Queued item = std::move(queue.front());
  queue.pop_front();
  handed_out.insert(item.request_id);
  lock.unlock();

  auto response = json_response(request, http::status::ok, std::move(item.payload));
  response.set("Lambda-Runtime-Aws-Request-Id", item.request_id);
  response.set("Lambda-Runtime-Deadline-Ms", std::to_string(epoch_ms() + options.invocation_timeout.count()));
  response.set("Lambda-Runtime-Invoked-Function-Arn", options.function_arn);
  if (!item.trace_id.empty()) response.set("Lambda-Runtime-Trace-Id", item.trace_id);
  return response;
}

http::response<http::string_body> RuntimeApiServer::State::handle(const http::request<http::string_body>& request,
                                                                   bool& close) {
  const std::string_view target(request.target().data(), request.target().size());
  if (target.substr(0, kPrefix.size()) != kPrefix) {
    return json_response(request, http::status::not_found, R"({"errorType":"UnknownPath"})");
  }
  const std::string_view path = target.substr(kPrefix.size());
  if (path == "invocation/next") {
    if (request.method() != http::verb::get) {
      return json_response(request, http::status::method_not_allowed, R"({"errorType":"MethodNotAllowed"})");
    }
    return handle_next(request, close);
  }
  if (request.method() != http::verb::post) {
    return json_response(request, http::status::method_not_allowed, R"({"errorType":"MethodNotAllowed"})");
  }

  RuntimePost post;
  post.body = request.body();
  if (auto it = request.find("Lambda-Runtime-Function-Error-Type"); it != request.end()) {
    post.error_type = std::string(it->value());
  }
  if (auto it = request.find(http::field::content_type); it != request.end()) {
    post.content_type = std::string(it->value());
  }

  if (path == "init/error") {
    post.kind = RuntimePost::Kind::kInitError;
    std::lock_guard lock(mu);
    posts.push_back(post);
    init_error = true;
    cv.notify_all();
    return json_response(request, http::status::accepted, R"({"status":"OK"})");
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
          return json_response(request, http::status::bad_request,
                               R"({"errorMessage":"unknown or answered request id","errorType":"InvalidRequestID"})");
        }
        handed_out.erase(it);
        answers.emplace(post.request_id, post);
        cv.notify_all();
        return json_response(request, http::status::accepted, R"({"status":"OK"})");
      }
    }
  }
  return json_response(request, http::status::not_found, R"({"errorType":"UnknownPath"})");
}

Result<std::unique_ptr<RuntimeApiServer>> RuntimeApiServer::start(RuntimeApiServerOptions options) {
  auto state = std::make_shared<State>();
  state->options = std::move(options);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(state->options.host, ec);
  if (ec) return Status::InvalidArgument("runtime api server: bad host " + state->options.host);
  const tcp::endpoint endpoint(address, state->options.port);
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IoError("runtime api server: cannot listen: " + ec.message());
  state->port = state->acceptor.local_endpoint().port();
  state->accept_thread = std::thread([s = state.get()] { s->accept_loop(); });
  return std::unique_ptr<RuntimeApiServer>(new RuntimeApiServer(std::move(state)));
}

RuntimeApiServer::RuntimeApiServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

RuntimeApiServer::~RuntimeApiServer() { stop(); }

void RuntimeApiServer::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopping) return;
    state_->stopping = true;
    // shutdown() wakes the threads blocked in accept() and read() on these sockets.
    ::shutdown(state_->acceptor.native_handle(), SHUT_RDWR);
    for (int fd : state_->open_fds) ::shutdown(fd, SHUT_RDWR);
    state_->cv.notify_all();
  }
  if (state_->accept_thread.joinable()) state_->accept_thread.join();
  {
    std::lock_guard lock(state_->mu);
    threads.swap(state_->connection_threads);
  }
  for (auto& t : threads) t.join();
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
}

std::uint16_t RuntimeApiServer::port() const { return state_->port; }

std::string RuntimeApiServer::endpoint() const {
  return state_->options.host + ":" + std::to_string(state_->port);
}

std::string RuntimeApiServer::enqueue(std::string payload, std::string trace_id) {
  std::lock_guard lock(state_->mu);
  Queued item{make_request_id(state_->next_id++), std::move(payload), std::move(trace_id)};
  std::string id = item.request_id;
  state_->queue.push_back(std::move(item));
  state_->cv.notify_all();
  return id;
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
