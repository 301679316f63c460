// TestHttpServer: the listening and connection handling shared by the in-repo test servers (the Lambda
// Runtime API server, the DynamoDB fault proxy, the HTTP client's test server): an HTTP/1.1 server on a loopback address, one thread per
// connection, each request handed to a handler that answers it, answers and closes the connection, or
// closes it without answering (a peer that died mid-request). Keep-alive follows the request.
//
// A handler may block (a long poll, an injected stall). stop() closes the sockets but cannot wake a
// handler waiting on its owner's condition: an owner whose handler waits must wake it first, then stop().
//
// Thread safety: start(), stop() and port() may be called from any thread; the handler runs on the
// connection threads, several at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "rcc/http.h"
#include "rcc/status.h"

namespace rcc {

// What the handler does with one request.
struct TestHttpAnswer {
  enum class Kind {
    kRespond,          // write `response`; keep the connection when the request asked for keep-alive
    kRespondAndClose,  // write `response`, then close the connection
    kDrop,             // close the connection without writing anything
    kReset,            // reset the connection (RST, SO_LINGER 0) without writing anything
  };
  Kind kind = Kind::kRespond;
  HttpResponse response;  // Content-Length is set by the server; a Content-Length header given here is ignored
};

// The first header of `request` named `name` (case-insensitive), "" when absent.
std::string_view request_header(const HttpRequest& request, std::string_view name);

// `request.url` is the request target as received (path and query, e.g. "/2018-06-01/runtime/...").
using TestHttpHandler = std::function<TestHttpAnswer(const HttpRequest& request)>;

struct TestHttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 picks a free port
  // A request whose body is larger gets 413 and the connection is closed.
  std::size_t body_limit = 16 * 1024 * 1024;
};

class TestHttpServer {
 public:
  // Binds host:port and serves on its own threads; returns once listening. InvalidArgument for a bad host,
  // IoError when the address cannot be bound.
  static Result<std::unique_ptr<TestHttpServer>> start(TestHttpServerOptions options, TestHttpHandler handler);

  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  // Closes the listener and every connection and joins the threads (waiting for running handlers to
  // return). Idempotent.
  void stop();

  std::uint16_t port() const;

  // Connections accepted so far, and connections the server has closed so far (after its last answer,
  // kDrop, kReset, or the peer closing).
  std::int64_t connections() const;
  std::int64_t closed_connections() const;
  // Blocks until closed_connections() >= count, or the server stops.
  void wait_for_closed(std::int64_t count) const;

 private:
  struct State;
  explicit TestHttpServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace rcc
