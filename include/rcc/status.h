// Status and Result<T>: the one error type of runner-count-cache.
//
// Errors are values across every layer. A Status is either ok or carries a Code and a message; the code
// decides whether a caller may retry (throttling, unavailability, timeouts) or must give up (bad input,
// permissions, protocol violations). Result<T> holds either a T or a non-ok Status.
//
// Both types are cheap to move and safe to use from one thread at a time; const methods may be called
// concurrently.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rcc {

enum class Code {
  kOk,
  kInvalidArgument,   // malformed input: an event, a flag, a file, a request the server rejected as invalid
  kNotFound,          // the thing asked for does not exist
  kPermissionDenied,  // credentials missing, invalid or not allowed
  kThrottled,         // the service asked us to slow down (retryable)
  kUnavailable,       // 5xx, connection refused or reset (retryable)
  kTimeout,           // connect or request deadline passed (retryable)
  kIoError,           // local file or socket error that is not a transient network failure
  kProtocolError,     // the peer answered something we cannot understand
  kInternal,          // a broken invariant in our own code
};

// The lowercase name of a code, e.g. "throttled".
std::string_view code_name(Code code);

class [[nodiscard]] Status {
 public:
  // An ok status.
  Status() = default;

  static Status InvalidArgument(std::string message) { return {Code::kInvalidArgument, std::move(message)}; }
  static Status NotFound(std::string message) { return {Code::kNotFound, std::move(message)}; }
  static Status PermissionDenied(std::string message) { return {Code::kPermissionDenied, std::move(message)}; }
  static Status Throttled(std::string message) { return {Code::kThrottled, std::move(message)}; }
  static Status Unavailable(std::string message) { return {Code::kUnavailable, std::move(message)}; }
  static Status Timeout(std::string message) { return {Code::kTimeout, std::move(message)}; }
  static Status IoError(std::string message) { return {Code::kIoError, std::move(message)}; }
  static Status ProtocolError(std::string message) { return {Code::kProtocolError, std::move(message)}; }
  static Status Internal(std::string message) { return {Code::kInternal, std::move(message)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // True for failures that may succeed when the same request is sent again later.
  bool retryable() const {
    return code_ == Code::kThrottled || code_ == Code::kUnavailable || code_ == Code::kTimeout;
  }

  // A copy whose message is "<context>: <message>"; ok stays ok.
  Status with_context(std::string_view context) const;

  // "ok", or "<code name>: <message>".
  std::string to_string() const;

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-ok Status. Constructing a Result from an ok Status is a programming error; in
// every build it yields an error Result holding Status::Internal("Result built from an ok Status"), so
// the caller sees a failure instead of a value that is not there.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor): return a value as a Result
  // NOLINTNEXTLINE(google-explicit-constructor): return an error
  Result(Status status)
      : state_(status.ok() ? Status::Internal("Result built from an ok Status") : std::move(status)) {}

  bool ok() const { return std::holds_alternative<T>(state_); }

  // The error; an ok Status when the Result holds a value.
  Status status() const { return ok() ? Status() : std::get<Status>(state_); }

  // The value. Calling these on an error is a programming error.
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace rcc

// Returns from the enclosing function when `expr` (a Status) is not ok.
#define RCC_RETURN_IF_ERROR(expr)            \
  do {                                       \
    ::rcc::Status rcc_status_ = (expr);      \
    if (!rcc_status_.ok()) return rcc_status_; \
  } while (false)
