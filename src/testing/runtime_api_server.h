// RuntimeApiServer: an HTTP/1.1 server on 127.0.0.1 that plays the AWS Lambda Runtime API (2018-06-01) for
// a runtime under test, the way the Lambda service does:
// - GET /2018-06-01/runtime/invocation/next blocks until an invocation is queued, then answers 200 with the
//   payload and the headers Lambda-Runtime-Aws-Request-Id, -Deadline-Ms, -Invoked-Function-Arn, -Trace-Id.
// - POST /2018-06-01/runtime/invocation/{id}/response and .../{id}/error answer 202 and record the body
//   (and the Lambda-Runtime-Function-Error-Type header); an id never handed out, or already answered,
//   answers 400 InvalidRequestID and is recorded as a protocol violation.
// - POST /2018-06-01/runtime/init/error answers 202 and records the error.
// stop() closes every connection, so a runtime blocked in /next sees the API go away and exits.
// Faults for the next hand-outs of /next (fault_next): close the connection without answering, answer 500,
// or hand the invocation out without its request-id or deadline header.
//
// Thread safety: every public method may be called from any thread while the server runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rcc/status.h"

namespace rcc {

struct RuntimeApiServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 picks a free port
  std::chrono::milliseconds invocation_timeout{30000};  // deadline = hand-out time + this
  std::string function_arn = "arn:aws:lambda:us-east-1:123456789012:function:runner-count-cache";
};

// A way for /next to misbehave, as a broken or restarting Runtime API might.
enum class RuntimeFault {
  kCloseConnection,  // close the connection without answering; the invocation stays queued
  kServerError,      // answer 500 {"errorType":"ServiceException"}; the invocation stays queued
  kNoRequestId,      // hand the invocation out without Lambda-Runtime-Aws-Request-Id (it can never be answered)
  kNoDeadline,       // hand the invocation out without Lambda-Runtime-Deadline-Ms
};

// What the runtime posted for one invocation, or at init.
struct RuntimePost {
  enum class Kind { kResponse, kError, kInitError };
  Kind kind = Kind::kResponse;
  std::string request_id;   // "" for kInitError
  std::string body;
  std::string error_type;   // the Lambda-Runtime-Function-Error-Type header, "" when absent
  std::string content_type;
  // For an answer: the time from handing the invocation out to receiving this post.
  std::chrono::milliseconds after_handout{0};
};

class RuntimeApiServer {
 public:
  // Binds host:port and serves on its own threads. Returns IoError when the address cannot be bound.
  static Result<std::unique_ptr<RuntimeApiServer>> start(RuntimeApiServerOptions options = {});

  ~RuntimeApiServer();
  RuntimeApiServer(const RuntimeApiServer&) = delete;
  RuntimeApiServer& operator=(const RuntimeApiServer&) = delete;

  // Closes the listener and every connection and joins the threads. Idempotent.
  void stop();

  std::uint16_t port() const;
  // "127.0.0.1:<port>", the value of AWS_LAMBDA_RUNTIME_API.
  std::string endpoint() const;

  // Queues an invocation of `payload`; returns its request id (a fresh UUID-shaped id). `trace_id` is sent
  // as Lambda-Runtime-Trace-Id when not empty.
  std::string enqueue(std::string payload, std::string trace_id = "");

  // The next `count` times /next would hand out an invocation, it fails as `fault` says instead (the
  // faults queue up in call order).
  void fault_next(RuntimeFault fault, int count = 1);
  // Invocations handed out without a request id so far (kNoRequestId).
  std::int64_t handed_out_without_id() const;

  // Waits until `count` invocations have been answered (response or error), or `timeout` passes.
  // Returns whether the count was reached.
  bool wait_for_answers(std::size_t count, std::chrono::milliseconds timeout) const;
  // Waits until an init error was posted, or `timeout` passes.
  bool wait_for_init_error(std::chrono::milliseconds timeout) const;
  // Waits until `count` /next requests arrived, or `timeout` passes.
  bool wait_for_next_requests(std::int64_t count, std::chrono::milliseconds timeout) const;

  // Every post, in arrival order (init errors and answers to unknown ids included).
  std::vector<RuntimePost> posts() const;
  // The answer to `request_id`, nullopt while there is none.
  std::optional<RuntimePost> answer(std::string_view request_id) const;
  // /next requests received so far, and when the first one arrived.
  std::int64_t next_requests() const;
  std::optional<std::chrono::steady_clock::time_point> first_next_time() const;
  // Posts naming an id never handed out or already answered.
  std::int64_t protocol_violations() const;

  struct State;  // shared with the connection threads

 private:
  explicit RuntimeApiServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace rcc
