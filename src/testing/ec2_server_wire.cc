// The EC2 test server's wire format: the Query API's form parsing and Authorization shape, and the XML of
// its answers (see ec2_server_wire.h).
#include "testing/ec2_server_wire.h"

#include <charconv>
#include <cstdio>
#include <regex>

#include "rcc/event.h"

namespace rcc::ec2_wire {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const std::regex& authorization_shape() {
  static const std::regex shape(
      R"(AWS4-HMAC-SHA256 Credential=[^/,\s]+/\d{8}/[a-z0-9-]+/ec2/aws4_request, ?SignedHeaders=([a-z0-9-]+(;[a-z0-9-]+)*), ?Signature=[0-9a-f]{64})");
  return shape;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Appends the pairs of "a=b&c=d" to `params`; false when an escape is malformed.
bool parse_form(std::string_view text, Params& params) {
  while (!text.empty()) {
    std::size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    std::optional<std::string> key = percent_decode(pair.substr(0, eq));
    std::optional<std::string> value =
        percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!key || !value) return false;
    params.emplace_back(std::move(*key), std::move(*value));
  }
  return true;
}

// Element text only (the server writes no attributes), so quotes stay as they are, as EC2 writes them.
std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

// EC2's numeric state codes.
int state_code(InstanceState state) {
  switch (state) {
    case InstanceState::kPending: return 0;
    case InstanceState::kRunning: return 16;
    case InstanceState::kShuttingDown: return 32;
    case InstanceState::kTerminated: return 48;
    case InstanceState::kStopping: return 64;
    case InstanceState::kStopped: return 80;
  }
  return 0;
}

// "2021-11-11T21:29:54.000Z", the way EC2 writes launchTime.
std::string ec2_time(std::int64_t ms) {
  std::string text = format_rfc3339(ms - ((ms % 1000) + 1000) % 1000);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(((ms % 1000) + 1000) % 1000));
  text.pop_back();
  return text + millis;
}

std::string request_id(std::int64_t sequence) {
  std::string digits = std::to_string(sequence);
  return "5e2c0d2a-0000-4000-8000-" + std::string(digits.size() < 12 ? 12 - digits.size() : 0, '0') + digits;
}

bool well_formed_authorization(std::string_view header) {
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(header.begin(), header.end(), match, authorization_shape())) return false;
  std::string signed_headers = match[1].str();
  return (";" + signed_headers + ";").find(";host;") != std::string::npos;
}

// The "N" of "<prefix>N<rest>" where N is a positive integer.
std::optional<int> index_after(std::string_view key, std::string_view prefix, std::string_view* rest) {
  if (!key.starts_with(prefix)) return std::nullopt;
  key.remove_prefix(prefix.size());
  int n = 0;
  auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), n);
  if (ec != std::errc() || n <= 0) return std::nullopt;
  *rest = key.substr(static_cast<std::size_t>(end - key.data()));
  return n;
}

std::string ec2_error_xml(std::string_view code, std::string_view message, std::string_view id) {
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>";
  body += xml_escape(code);
  body += "</Code><Message>";
  body += xml_escape(message);
  body += "</Message></Error></Errors><RequestID>";
  body += id;
  body += "</RequestID></Response>";
  return body;
}

void append_instance_xml(std::string& out, const Ec2Instance& instance) {
  std::string_view suffix = std::string_view(instance.instance_id).substr(2);
  out += "<item><reservationId>r-";
  out += suffix;
  out += "</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet><item><instanceId>";
  out += xml_escape(instance.instance_id);
  out += "</instanceId><imageId>ami-0abcdef1234567890</imageId><instanceState><code>";
  out += std::to_string(state_code(instance.state));
  out += "</code><name>";
  out += state_name(instance.state);
  out += "</name></instanceState><instanceType>m5.large</instanceType><launchTime>";
  out += ec2_time(instance.launch_time_ms);
  out += "</launchTime>";
  if (!instance.tags.empty()) {
    out += "<tagSet>";
    for (const auto& [key, value] : instance.tags) {
      out += "<item><key>";
      out += xml_escape(key);
      out += "</key><value>";
      out += xml_escape(value);
      out += "</value></item>";
    }
    out += "</tagSet>";
  }
  out += "</item></instancesSet></item>";
}

}  // namespace rcc::ec2_wire
