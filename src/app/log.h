// Structured logs: one JSON object per line (level, message, request id, fields), as CloudWatch Logs
// reads them from a Lambda's stdout.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace rcc {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error".
std::string_view log_level_name(LogLevel level);

// The level spelled `name` (case-insensitive; "warning" is accepted for warn), or nullopt.
std::optional<LogLevel> parse_log_level(std::string_view name);

// Appends `text` to `out` as a JSON string literal, quotes included. Valid UTF-8 passes through
// unchanged; '"', '\\' and control characters below 0x20 are escaped (\n, \t, ... or \u00XX); each byte
// that does not start or continue a valid UTF-8 sequence (overlong forms, surrogates and code points
// above U+10FFFF included) becomes U+FFFD. The result is always valid JSON and valid UTF-8.
void append_json_string(std::string& out, std::string_view text);

// append_json_string into a new string.
std::string json_string(std::string_view text);

// A field value: text, an integer or a flag.
using LogValue = std::variant<std::string_view, std::int64_t, bool>;

struct LogField {
  std::string_view name;
  LogValue value;

  LogField(std::string_view n, std::string_view v) : name(n), value(v) {}
  LogField(std::string_view n, const std::string& v) : name(n), value(std::string_view(v)) {}
  LogField(std::string_view n, const char* v) : name(n), value(std::string_view(v)) {}
  LogField(std::string_view n, std::int64_t v) : name(n), value(v) {}
  LogField(std::string_view n, int v) : name(n), value(static_cast<std::int64_t>(v)) {}
  LogField(std::string_view n, bool v) : name(n), value(v) {}
};

// Where finished lines go, each without its trailing newline.
using LogSink = std::function<void(std::string_view line)>;

// A sink writing each line and a newline to stdout and flushing it.
LogSink stdout_log_sink();

// Writes lines {"level":..,"message":..,"request_id":..,<fields>...} at or above a minimum level.
// The request id is omitted while empty. Fields are written in the order given; a field named like one
// of the fixed members is written as given too (callers avoid that). Thread-compatible.
class Logger {
 public:
  Logger(LogLevel min_level, LogSink sink);

  // The request id put on every later line; "" to stop adding one.
  void set_request_id(std::string request_id) { request_id_ = std::move(request_id); }
  const std::string& request_id() const { return request_id_; }

  LogLevel min_level() const { return min_level_; }
  bool enabled(LogLevel level) const { return level >= min_level_; }

  // Writes one line when `level` is enabled.
  void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
  void debug(std::string_view message, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kDebug, message, fields);
  }
  void info(std::string_view message, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kInfo, message, fields);
  }
  void warn(std::string_view message, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kWarn, message, fields);
  }
  void error(std::string_view message, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kError, message, fields);
  }

  // The line log() would write, without writing it.
  std::string format(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) const;

 private:
  LogLevel min_level_;
  LogSink sink_;
  std::string request_id_;
};

}  // namespace rcc
