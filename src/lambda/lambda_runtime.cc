#include "lambda/lambda_runtime.h"

#include <charconv>
#include <cstdlib>
#include <exception>
#include <utility>

#include "app/log.h"
#include "core/text.h"

namespace rcc {
namespace {

std::int64_t parse_deadline(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return 0;
  return value;
}

Status unexpected_status(std::string_view what, const HttpResponse& response) {
  std::string message = std::string(what) + ": HTTP " + std::to_string(response.status);
  if (!response.body.empty()) message += ": " + utf8_excerpt(response.body, kExcerptBytes);
  return Status::ProtocolError(std::move(message));
}

// The handler's result, with an exception it throws (std::bad_alloc, a JSON error, anything) turned into
// Internal carrying its what(), so it is still posted to /error and the loop goes on.
Result<std::string> call_handler(const InvocationHandler& handler, const Invocation& invocation) {
  try {
    return handler(invocation);
  } catch (const std::exception& e) {
    return Status::Internal(e.what());
  } catch (...) {
    return Status::Internal("the handler threw an exception that is not a std::exception");
  }
}

// The request id as one path segment: every byte but the unreserved ones percent-encoded, so an id like
// "abc/../../init" or one holding a space can never address another path of the Runtime API.
std::string path_segment(std::string_view id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : id) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

}  // namespace

std::string_view error_type_name(Code code) {
  switch (code) {
    case Code::kOk: return "Unknown";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotFound: return "NotFound";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kThrottled: return "Throttled";
    case Code::kUnavailable: return "Unavailable";
    case Code::kTimeout: return "Timeout";
    case Code::kIoError: return "IoError";
    case Code::kProtocolError: return "ProtocolError";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

FunctionError function_error(const Status& status) {
  return FunctionError{std::string(error_type_name(status.code())), status.message()};
}

std::string error_body(const FunctionError& error) {
  std::string body = "{\"errorMessage\":";
  append_json_string(body, error.message);
  body += ",\"errorType\":";
  append_json_string(body, error.type);
  body += ",\"stackTrace\":[]}";
  return body;
}

RuntimeClient::RuntimeClient(HttpClient& http, std::string endpoint)
    : http_(http), base_url_("http://" + endpoint + "/" + std::string(kRuntimeApiVersion) + "/runtime") {}

Result<Invocation> RuntimeClient::next() {
  HttpRequest request;
  request.method = "GET";
  request.url = base_url_ + "/invocation/next";
  // No deadline: Lambda freezes the sandbox while this request waits for the next event.
  HttpTimeouts timeouts;
  timeouts.request = std::chrono::milliseconds(0);
  ++requests_;
  auto response = http_.send(request, timeouts);
  if (!response.ok()) return response.status().with_context("runtime /next");
  if (response->status != 200) return unexpected_status("runtime /next", *response);

  Invocation invocation;
  invocation.request_id = std::string(response->header("Lambda-Runtime-Aws-Request-Id"));
  if (invocation.request_id.empty()) {
    return Status::ProtocolError("runtime /next: no Lambda-Runtime-Aws-Request-Id header");
  }
  invocation.deadline_ms = parse_deadline(response->header("Lambda-Runtime-Deadline-Ms"));
  invocation.function_arn = std::string(response->header("Lambda-Runtime-Invoked-Function-Arn"));
  invocation.trace_id = std::string(response->header("Lambda-Runtime-Trace-Id"));
  invocation.payload = std::move(response->body);
  return invocation;
}

Status RuntimeClient::post(std::string path, std::string body, std::string_view error_type) {
  HttpRequest request;
  request.method = "POST";
  request.url = base_url_ + path;
  request.body = std::move(body);
  request.headers.emplace_back("Content-Type", "application/json");
  if (!error_type.empty()) request.headers.emplace_back("Lambda-Runtime-Function-Error-Type", error_type);
  ++requests_;
  auto response = http_.send(request, HttpTimeouts{});
  if (!response.ok()) return response.status().with_context("runtime " + path);
  if (response->status < 200 || response->status > 299) return unexpected_status("runtime " + path, *response);
  return Status();
}

Status RuntimeClient::post_response(std::string_view request_id, std::string_view body) {
  return post("/invocation/" + path_segment(request_id) + "/response", std::string(body), "");
}

Status RuntimeClient::post_error(std::string_view request_id, const FunctionError& error) {
  return post("/invocation/" + path_segment(request_id) + "/error", error_body(error), error.type);
}

Status RuntimeClient::post_init_error(const FunctionError& error) {
  return post("/init/error", error_body(error), error.type);
}

Status run_runtime_loop(RuntimeClient& client, const InvocationHandler& handler,
                        const NextFailureObserver& on_next_failure, Env* env) {
  const std::string trace_env(kTraceIdEnv);
  int failed_in_a_row = 0;
  for (;;) {
    auto invocation = client.next();
    if (!invocation.ok()) {
      if (++failed_in_a_row >= kNextAttempts) return invocation.status();
      if (on_next_failure) on_next_failure(invocation.status());
      env->sleep_ms(kNextRetryDelay.count());
      continue;
    }
    failed_in_a_row = 0;
    // X-Ray and the AWS SDKs read the trace header of the current invocation from the environment.
    if (invocation->trace_id.empty()) {
      ::unsetenv(trace_env.c_str());
    } else {
      ::setenv(trace_env.c_str(), invocation->trace_id.c_str(), 1);
    }
    auto result = call_handler(handler, *invocation);
    const Status posted = result.ok() ? client.post_response(invocation->request_id, *result)
                                      : client.post_error(invocation->request_id, function_error(result.status()));
    if (!posted.ok()) return posted;
  }
}

}  // namespace rcc
