// FaultProxy: an HTTP server on 127.0.0.1 that forwards every request to an upstream endpoint (dynalite)
// and misbehaves on demand, for tests of what the counter function and the reader do when DynamoDB does:
// - answer_next(): the next requests (of one operation, named by the X-Amz-Target header's suffix, or of
//   any) get a canned answer instead of being forwarded: a throttling or 5xx error document, an HTML page,
//   a truncated body;
// - stall_next(): the next requests wait before being forwarded (stop() cuts the wait short);
// - drop_next(): the next requests are read and their connection closed without an answer;
// - go_down_after(n): `n` more requests are forwarded, then every request is dropped, as when the server
//   is killed, until come_up();
// - accepted_access_key_id: a request signed with another access key id answers 400
//   UnrecognizedClientException, as DynamoDB does for credentials it does not know.
// Every request's Authorization signature is recorded (signatures()), so a test can look for it in logs.
//
// Thread safety: every public method may be called from any thread while the proxy runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rcc/status.h"

namespace rcc {

struct FaultProxyOptions {
  std::string upstream;                // "http://127.0.0.1:<port>", where requests are forwarded
  std::string accepted_access_key_id;  // "" accepts any
};

// A canned answer.
struct ProxyAnswer {
  int status = 500;
  std::string content_type = "application/x-amz-json-1.0";
  std::string body;
};

// DynamoDB's own error documents, as it sends them.
ProxyAnswer dynamodb_throttling_answer();    // 400 ThrottlingException
ProxyAnswer dynamodb_internal_error_answer();  // 500 InternalServerError

class FaultProxy {
 public:
  // Listens on a free loopback port. IoError when it cannot.
  static Result<std::unique_ptr<FaultProxy>> start(FaultProxyOptions options);

  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // Ends every stall and closes the listener and the connections. Idempotent.
  void stop();

  // "http://127.0.0.1:<port>"
  std::string endpoint() const;

  // The faults below apply to the next `count` requests whose operation (the part of X-Amz-Target after
  // the dot, e.g. "UpdateItem") is `operation`, or to any request when `operation` is "". A request
  // consumes the first pending fault that matches it.
  void answer_next(int count, ProxyAnswer answer, std::string operation = "");
  void stall_next(int count, std::chrono::milliseconds delay, std::string operation = "");
  void drop_next(int count, std::string operation = "");
  // Forwards `n` more requests, then drops every request until come_up().
  void go_down_after(int n);
  void come_up();
  void clear_faults();

  std::int64_t requests() const;             // received, faulted or not
  std::int64_t forwarded() const;            // answered by the upstream
  std::vector<std::string> signatures() const;  // the Signature= value of every request, in order

  struct State;

 private:
  explicit FaultProxy(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace rcc
