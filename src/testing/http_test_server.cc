#include "testing/http_test_server.h"

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <list>
#include <mutex>
#include <string_view>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace rcc {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct TestHttpServer::State {
  TestHttpServerOptions options;
  TestHttpHandler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;
  std::thread accept_thread;

  struct Connection {
    std::shared_ptr<tcp::socket> socket;
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  mutable std::mutex mu;
  std::condition_variable closed_cv;  // notified when a connection closes, and on stop
  bool stopping = false;               // guarded by mu
  std::list<Connection> connections;   // guarded by mu
  std::int64_t accepted = 0;           // guarded by mu
  std::int64_t closed = 0;             // guarded by mu

  void accept_loop();
  void serve(tcp::socket& socket);
  // Ends a served connection: with a reset (RST, linger 0) or an orderly shutdown. Under mu, because stop()
  // shuts down the descriptors of live connections under mu: closing without it let stop() read a
  // descriptor while it changed, and shut down whatever socket had been given the number since
  // (ThreadSanitizer found the race).
  void close_connection(tcp::socket& socket, bool reset);
};

namespace {

HttpRequest to_request(const http::request<http::string_body>& message) {
  HttpRequest request;
  request.method = std::string(message.method_string());
  request.url = std::string(message.target());
  for (const auto& field : message) request.headers.emplace_back(field.name_string(), field.value());
  request.body = message.body();
  return request;
}

http::response<http::string_body> to_message(const HttpResponse& response, unsigned version, bool keep_alive) {
  http::response<http::string_body> message{static_cast<http::status>(response.status), version};
  for (const auto& [name, value] : response.headers) {
    if (beast::iequals(name, "Content-Length") || beast::iequals(name, "Connection") ||
        beast::iequals(name, "Transfer-Encoding")) {
      continue;
    }
    message.set(name, value);
  }
  message.body() = response.body;
  message.keep_alive(keep_alive);
  message.prepare_payload();
  return message;
}

}  // namespace

std::string_view request_header(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (beast::iequals(key, name)) return value;
  }
  return {};
}

void TestHttpServer::State::serve(tcp::socket& socket) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(options.body_limit);
    parser.header_limit(64 * 1024);
    beast::error_code ec;
    http::read(socket, buffer, parser, ec);
    if (ec == http::error::body_limit) {
      HttpResponse too_large{413, {{"Content-Type", "application/json"}}, R"({"errorType":"RequestTooLarge"})"};
      http::write(socket, to_message(too_large, 11, false), ec);
      break;
    }
    if (ec) break;
    const http::request<http::string_body>& message = parser.get();
    const TestHttpAnswer answer = handler(to_request(message));
    if (answer.kind == TestHttpAnswer::Kind::kDrop) break;
    if (answer.kind == TestHttpAnswer::Kind::kReset) {
      close_connection(socket, true);
      return;
    }
    const bool keep_alive = message.keep_alive() && answer.kind == TestHttpAnswer::Kind::kRespond;
    http::write(socket, to_message(answer.response, message.version(), keep_alive), ec);
    if (ec || !keep_alive) break;
  }
  close_connection(socket, false);
}

void TestHttpServer::State::close_connection(tcp::socket& socket, bool reset) {
  beast::error_code ignored;
  std::lock_guard lock(mu);
  if (reset) {
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
  } else {
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }
  socket.close(ignored);
}

void TestHttpServer::State::accept_loop() {
  for (;;) {
    auto socket = std::make_shared<tcp::socket>(io);
    beast::error_code ec;
    acceptor.accept(*socket, ec);
    std::lock_guard lock(mu);
    if (stopping) return;
    if (ec) continue;  // a reset before accept; out of descriptors is not expected in tests
    socket->set_option(tcp::no_delay(true), ec);
    for (auto it = connections.begin(); it != connections.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
    ++accepted;
    auto done = std::make_shared<std::atomic<bool>>(false);
    connections.push_back({socket, std::thread([this, socket, done] {
                             serve(*socket);
                             {
                               std::lock_guard closed_lock(mu);
                               ++closed;
                             }
                             closed_cv.notify_all();
                             done->store(true);
                           }),
                           done});
  }
}

Result<std::unique_ptr<TestHttpServer>> TestHttpServer::start(TestHttpServerOptions options,
                                                              TestHttpHandler handler) {
  auto state = std::make_shared<State>();
  state->options = std::move(options);
  state->handler = std::move(handler);
  beast::error_code ec;
  const auto address = asio::ip::make_address(state->options.host, ec);
  if (ec) return Status::InvalidArgument("test http server: bad host '" + state->options.host + "'");
  const tcp::endpoint endpoint(address, state->options.port);
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) state->port = state->acceptor.local_endpoint(ec).port();
  if (ec) {
    return Status::IoError("test http server: cannot listen on " + state->options.host + ":" +
                           std::to_string(state->options.port) + ": " + ec.message());
  }
  state->accept_thread = std::thread([raw = state.get()] { raw->accept_loop(); });
  return std::unique_ptr<TestHttpServer>(new TestHttpServer(std::move(state)));
}

TestHttpServer::TestHttpServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

TestHttpServer::~TestHttpServer() { stop(); }

void TestHttpServer::stop() {
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopping) return;
    state_->stopping = true;
    // shutdown(2) wakes a blocking accept() or read() on Linux; close() from another thread would not.
    ::shutdown(state_->acceptor.native_handle(), SHUT_RDWR);
    for (const State::Connection& c : state_->connections) ::shutdown(c.socket->native_handle(), SHUT_RDWR);
  }
  state_->closed_cv.notify_all();
  if (state_->accept_thread.joinable()) state_->accept_thread.join();
  std::list<State::Connection> connections;
  {
    std::lock_guard lock(state_->mu);
    connections.swap(state_->connections);
  }
  for (State::Connection& c : connections) c.thread.join();
  beast::error_code ignored;
  state_->acceptor.close(ignored);
}

std::uint16_t TestHttpServer::port() const { return state_->port; }

std::int64_t TestHttpServer::connections() const {
  std::lock_guard lock(state_->mu);
  return state_->accepted;
}

std::int64_t TestHttpServer::closed_connections() const {
  std::lock_guard lock(state_->mu);
  return state_->closed;
}

void TestHttpServer::wait_for_closed(std::int64_t count) const {
  std::unique_lock lock(state_->mu);
  state_->closed_cv.wait(lock, [&] { return state_->closed >= count || state_->stopping; });
}

}  // namespace rcc
