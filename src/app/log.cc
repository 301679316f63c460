#include "app/log.h"

#include <cstdio>
#include <utility>

#include "core/text.h"

namespace rcc {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

void append_value(std::string& out, const LogValue& value) {
  if (const auto* text = std::get_if<std::string_view>(&value)) {
    append_json_string(out, *text);
  } else if (const auto* number = std::get_if<std::int64_t>(&value)) {
    out += std::to_string(*number);
  } else {
    out += std::get<bool>(value) ? "true" : "false";
  }
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
  if (equals_ignore_case(name, "debug")) return LogLevel::kDebug;
  if (equals_ignore_case(name, "info")) return LogLevel::kInfo;
  if (equals_ignore_case(name, "warn") || equals_ignore_case(name, "warning")) return LogLevel::kWarn;
  if (equals_ignore_case(name, "error")) return LogLevel::kError;
  return std::nullopt;
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    // Escaping works on unsigned bytes: a plain char is signed here and would sign-extend above 0x7F.
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, i);
      if (length == 0) {
        out += kReplacement;
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0x0F];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_json_string(out, text);
  return out;
}

LogSink stdout_log_sink() {
  return [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  };
}

Logger::Logger(LogLevel min_level, LogSink sink) : min_level_(min_level), sink_(std::move(sink)) {}

std::string Logger::format(LogLevel level, std::string_view message,
                           std::initializer_list<LogField> fields) const {
  std::string line;
  line.reserve(96 + message.size());
  line += "{\"level\":";
  append_json_string(line, log_level_name(level));
  line += ",\"message\":";
  append_json_string(line, message);
  if (!request_id_.empty()) {
    line += ",\"request_id\":";
    append_json_string(line, request_id_);
  }
  for (const LogField& field : fields) {
    line += ',';
    append_json_string(line, field.name);
    line += ':';
    append_value(line, field.value);
  }
  line += '}';
  return line;
}

void Logger::log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!enabled(level) || !sink_) return;
  sink_(format(level, message, fields));
}

}  // namespace rcc
