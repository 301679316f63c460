// The AWS Lambda Runtime API client (version 2018-06-01) and the custom-runtime loop.
//
// The runtime asks Lambda for the next invocation with GET /runtime/invocation/next (no timeout: the
// sandbox is frozen between invocations), runs the handler, and posts the result to
// /runtime/invocation/{id}/response or /runtime/invocation/{id}/error; a failure before the first
// invocation goes to /runtime/init/error. Error bodies are {"errorMessage":..,"errorType":..,
// "stackTrace":[]} with the header Lambda-Runtime-Function-Error-Type carrying the errorType.
// The API is plain HTTP on AWS_LAMBDA_RUNTIME_API ("host:port").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "rcc/env.h"
#include "rcc/http.h"
#include "rcc/status.h"

namespace rcc {

inline constexpr std::string_view kRuntimeApiVersion = "2018-06-01";
inline constexpr std::string_view kTraceIdEnv = "_X_AMZN_TRACE_ID";

// One invocation, from the /next response.
struct Invocation {
  std::string request_id;    // Lambda-Runtime-Aws-Request-Id
  std::int64_t deadline_ms = 0;  // Lambda-Runtime-Deadline-Ms (epoch ms); 0 when absent or unparsable
  std::string function_arn;  // Lambda-Runtime-Invoked-Function-Arn
  std::string trace_id;      // Lambda-Runtime-Trace-Id, "" when absent
  std::string payload;       // the event JSON
};

// A failure reported to Lambda.
struct FunctionError {
  std::string type;     // errorType and the Lambda-Runtime-Function-Error-Type header, e.g. "Throttled"
  std::string message;  // errorMessage
};

// The errorType naming a Status code: "InvalidArgument", "NotFound", "PermissionDenied", "Throttled",
// "Unavailable", "Timeout", "IoError", "ProtocolError", "Internal" ("Unknown" for ok).
std::string_view error_type_name(Code code);

// The FunctionError of a failed Status: its error_type_name() and its message.
FunctionError function_error(const Status& status);

// The JSON error body {"errorMessage":..,"errorType":..,"stackTrace":[]} (escaped per append_json_string).
std::string error_body(const FunctionError& error);

// Talks to the Runtime API at `endpoint` ("host:port") through `http`. Thread-compatible.
class RuntimeClient {
 public:
  // `http` must outlive the client.
  RuntimeClient(HttpClient& http, std::string endpoint);

  // GET /2018-06-01/runtime/invocation/next with no request deadline. Returns the invocation;
  // Unavailable/Timeout when the API cannot be reached; ProtocolError when the answer is not 200 or has no
  // request id.
  Result<Invocation> next();

  // POST /2018-06-01/runtime/invocation/{request_id}/response with `body`; request_id is percent-encoded
  // (all but A-Z a-z 0-9 - _ ~), so it stays one path segment. Returns ok on 2xx; the
  // transport failure, or ProtocolError naming the status and body (e.g. 413 payload too large).
  Status post_response(std::string_view request_id, std::string_view body);

  // POST /2018-06-01/runtime/invocation/{request_id}/error with error_body(error). As post_response.
  Status post_error(std::string_view request_id, const FunctionError& error);

  // POST /2018-06-01/runtime/init/error with error_body(error). As post_response.
  Status post_init_error(const FunctionError& error);

  // Requests sent so far.
  std::int64_t requests() const { return requests_; }

 private:
  Status post(std::string path, std::string body, std::string_view error_type);

  HttpClient& http_;
  std::string base_url_;  // http://<endpoint>/2018-06-01/runtime
  std::int64_t requests_ = 0;
};

// A handler turns one invocation into its response body, or a failure that fails the invocation.
using InvocationHandler = std::function<Result<std::string>(const Invocation& invocation)>;

// A failed /next (the API unreachable or closing the connection, a non-200 answer, an answer without a
// request id) is asked again up to this many times in a row, kNextRetryDelay apart, as aws-lambda-cpp does:
// one dropped connection or one 500 from a restarting API does not end the process. An invocation handed out
// without a request id cannot be answered; Lambda retries it after its timeout.
inline constexpr int kNextAttempts = 3;
inline constexpr std::chrono::milliseconds kNextRetryDelay{100};

// Called with the failure of a /next that is about to be asked again.
using NextFailureObserver = std::function<void(const Status& failure)>;

// Runs the runtime loop until the Runtime API fails: next() (retried as above, each retried failure passed
// to `on_next_failure` when set, the pause between attempts slept on `env`); set _X_AMZN_TRACE_ID to the invocation's trace id (unset it when absent);
// run `handler`; post its body to /response, or function_error() of its failure to /error. An exception
// thrown by `handler` (std::bad_alloc, a JSON error, anything) is caught and posted to /error as errorType
// "Internal" with its what() as errorMessage; the loop goes on. kNextAttempts failed /next in a row, or a
// failed post, end the loop. Returns the Status that ended it (never ok).
Status run_runtime_loop(RuntimeClient& client, const InvocationHandler& handler,
                        const NextFailureObserver& on_next_failure = nullptr, Env* env = Env::Default());

}  // namespace rcc
