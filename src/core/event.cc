#include "rcc/event.h"

#include <array>
#include <charconv>

#include <nlohmann/json.hpp>

#include "core/text.h"

namespace rcc {
namespace {

constexpr std::string_view kEc2Source = "aws.ec2";
constexpr std::string_view kEc2DetailType = "EC2 Instance State-change Notification";
constexpr std::string_view kScheduleSource = "aws.events";
constexpr std::string_view kScheduleDetailType = "Scheduled Event";

constexpr std::array<std::string_view, 6> kStateNames = {"pending", "running", "stopping",
                                                         "stopped", "shutting-down", "terminated"};

// How much of an invalid value an error message repeats: enough to recognise it, never a 10 MB echo.
constexpr std::size_t kEchoBytes = 64;

std::string echo(std::string_view value) {
  // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for "literal" + std::string&&.
  std::string quoted = "\"";
  quoted += utf8_excerpt(value, kEchoBytes);
  quoted += '"';
  return quoted;
}

bool is_hex_lower(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Parses exactly `width` decimal digits at text[pos].
bool digits(std::string_view text, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > text.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Whether `json` nests arrays and objects at most `max_depth` deep, counting brackets outside strings. The
// text need not be valid JSON: the parser judges that afterwards, and stops at the first error.
bool nesting_within(std::string_view json, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// The string member `name` of `object`, or an error naming `path`.
Result<std::string_view> string_member(const nlohmann::json& object, const char* name, std::string_view path) {
  const auto it = object.find(name);
  if (it == object.end()) return Status::InvalidArgument(std::string(path) + ": missing");
  if (!it->is_string()) return Status::InvalidArgument(std::string(path) + ": not a string");
  return std::string_view(it->get_ref<const std::string&>());
}

}  // namespace

std::string_view state_name(InstanceState state) { return kStateNames[static_cast<std::size_t>(state)]; }

std::optional<InstanceState> parse_state(std::string_view name) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<InstanceState>(i);
  }
  return std::nullopt;
}

bool is_instance_id(std::string_view id) {
  if (id.size() != 10 && id.size() != 19) return false;
  if (id.substr(0, 2) != "i-") return false;
  for (char c : id.substr(2)) {
    if (!is_hex_lower(c)) return false;
  }
  return true;
}

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  int year, month, day, hour, minute, second;
  if (!digits(t, 0, 4, year) || t.size() < 20 || t[4] != '-' || !digits(t, 5, 2, month) || t[7] != '-' ||
      !digits(t, 8, 2, day) || (t[10] != 'T' && t[10] != 't') || !digits(t, 11, 2, hour) || t[13] != ':' ||
      !digits(t, 14, 2, minute) || t[16] != ':' || !digits(t, 17, 2, second)) {
    return std::nullopt;
  }
  static constexpr std::array<int, 12> kDaysInMonth = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return std::nullopt;
  const int month_days = kDaysInMonth[month - 1] + (month == 2 && is_leap(year) ? 1 : 0);
  if (day < 1 || day > month_days || hour > 23 || minute > 59 || second > 60) return std::nullopt;

  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    int scale = 100;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      millis += (t[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::int64_t offset_s = 0;
  if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
    ++pos;
  } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
    int oh, om;
    if (!digits(t, pos + 1, 2, oh) || pos + 3 >= t.size() || t[pos + 3] != ':' || !digits(t, pos + 4, 2, om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_s = (oh * 3600 + om * 60) * (t[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != t.size()) return std::nullopt;

  // A leap second (:60) counts as the next second's start, as POSIX time does.
  const std::int64_t seconds = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                               hour * 3600 + minute * 60 + second - offset_s;
  return seconds * 1000 + millis;
}

std::string format_rfc3339(std::int64_t epoch_ms) {
  std::int64_t s = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  std::int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
  std::int64_t rem = s - days * 86400;
  // civil_from_days (Howard Hinnant).
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return buf;
}

Result<Event> parse_event(std::string_view text) {
  if (text.size() > kMaxEventBytes) {
    return Status::InvalidArgument("event: " + std::to_string(text.size()) + " bytes, more than the " +
                                   std::to_string(kMaxEventBytes) + "-byte limit");
  }
  if (!nesting_within(text, kMaxEventDepth)) {
    return Status::InvalidArgument("event: nested deeper than " + std::to_string(kMaxEventDepth) + " levels");
  }
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("event: not valid JSON");
  if (!doc.is_object()) return Status::InvalidArgument("event: not a JSON object");

  auto source = string_member(doc, "source", "source");
  if (!source.ok()) return source.status();
  auto detail_type = string_member(doc, "detail-type", "detail-type");
  if (!detail_type.ok()) return detail_type.status();
  const bool is_ec2 = *source == kEc2Source && *detail_type == kEc2DetailType;
  const bool is_schedule = *source == kScheduleSource && *detail_type == kScheduleDetailType;
  if (!is_ec2 && !is_schedule) {
    return Status::InvalidArgument("source/detail-type: foreign event " + echo(*source) + " / " + echo(*detail_type));
  }

  auto id = string_member(doc, "id", "id");
  if (!id.ok()) return id.status();
  auto time = string_member(doc, "time", "time");
  if (!time.ok()) return time.status();
  const auto time_ms = parse_rfc3339_ms(*time);
  if (!time_ms) return Status::InvalidArgument("time: not an RFC 3339 timestamp: " + echo(*time));
  const std::int64_t time_s = *time_ms >= 0 ? *time_ms / 1000 : (*time_ms - 999) / 1000;

  const auto detail = doc.find("detail");
  if (detail == doc.end()) return Status::InvalidArgument("detail: missing");
  if (!detail->is_object()) return Status::InvalidArgument("detail: not an object");

  if (is_schedule) return Event(ScheduledEvent{time_s, std::string(*id)});

  auto instance_id = string_member(*detail, "instance-id", "detail.instance-id");
  if (!instance_id.ok()) return instance_id.status();
  if (!is_instance_id(*instance_id)) {
    return Status::InvalidArgument("detail.instance-id: not an EC2 instance id: " + echo(*instance_id));
  }
  auto state_text = string_member(*detail, "state", "detail.state");
  if (!state_text.ok()) return state_text.status();
  const auto state = parse_state(*state_text);
  if (!state) return Status::InvalidArgument("detail.state: unknown state " + echo(*state_text));

  return Event(InstanceEvent{std::string(*instance_id), *state, time_s, std::string(*id)});
}

Status check_event_time(const InstanceEvent& event, std::int64_t now_ms) {
  if (event.time_s <= (now_ms + kMaxEventSkewMs) / 1000) return Status();
  return Status::InvalidArgument("time: " + format_rfc3339(event.time_s * 1000) + " is more than " +
                                 std::to_string(kMaxEventSkewMs / 1000) + " s ahead of the clock (" +
                                 format_rfc3339(now_ms) + ")");
}

std::string format_instance_event(const InstanceEvent& event, std::string_view region, std::string_view account) {
  std::string out;
  out.reserve(420);
  out += R"({"version":"0","id":)";
  out += nlohmann::json(event.event_id).dump();  // ids are UUIDs in practice; escape anyway
  out += R"(,"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":")";
  out += account;
  out += R"(","time":")";
  out += format_rfc3339(event.time_s * 1000);
  out += R"(","region":")";
  out += region;
  out += R"(","resources":["arn:aws:ec2:)";
  out += region;
  out += ':';
  out += account;
  out += ":instance/";
  out += event.instance_id;
  out += R"("],"detail":{"instance-id":")";
  out += event.instance_id;
  out += R"(","state":")";
  out += state_name(event.state);
  out += R"("}})";
  return out;
}

}  // namespace rcc
