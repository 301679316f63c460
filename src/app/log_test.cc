#include "app/log.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rcc {
namespace {

TEST(JsonString, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(json_string("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_string("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(json_string(std::string("\x01\x1f\0", 3)), R"("\u0001\u001f\u0000")");
  EXPECT_EQ(json_string("\x7f"), "\"\x7f\"");
}

TEST(JsonString, PassesValidUtf8Through) {
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF \xF4\x8F\xBF\xBF";
  EXPECT_EQ(json_string(text), "\"" + text + "\"");
  EXPECT_EQ(nlohmann::json::parse(json_string(text)).get<std::string>(), text);
}

// Regression: a signed-char escaper turns every byte above 0x7F into \uffff or worse.
TEST(JsonString, NeverEscapesHighBytesAsUnicodeEscapes) {
  EXPECT_EQ(json_string("\xC3\xA9").find("\\u"), std::string::npos);
}

TEST(JsonString, ReplacesEachInvalidByteWithReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    std::string input;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"\xFF", fffd},                                  // never valid
      {"\x80", fffd},                                  // lone continuation
      {"\xC3", fffd},                                  // truncated at the end
      {"\xC3x", fffd + "x"},                           // truncated before ASCII
      {"\xC0\xAF", fffd + fffd},                       // overlong '/'
      {"\xE0\x80\xAF", fffd + fffd + fffd},            // overlong 3-byte
      {"\xED\xA0\x80", fffd + fffd + fffd},            // UTF-16 surrogate
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd}, // above U+10FFFF
      {"\xF5\x80", fffd + fffd},                       // invalid lead
      {"a\xE2\x82", "a" + fffd + fffd},                // truncated 3-byte
  };
  for (const Case& c : cases) {
    const std::string quoted = json_string(c.input);
    EXPECT_EQ(quoted, "\"" + c.expected + "\"") << testing::PrintToString(c.input);
    EXPECT_TRUE(nlohmann::json::accept(quoted)) << testing::PrintToString(c.input);
  }
}

TEST(LogLevel, ParsesNamesCaseInsensitively) {
  EXPECT_EQ(parse_log_level("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(parse_log_level("info"), LogLevel::kInfo);
  EXPECT_EQ(parse_log_level("Warning"), LogLevel::kWarn);
  EXPECT_EQ(parse_log_level("warn"), LogLevel::kWarn);
  EXPECT_EQ(parse_log_level("error"), LogLevel::kError);
  EXPECT_EQ(parse_log_level("verbose"), std::nullopt);
  EXPECT_EQ(parse_log_level(""), std::nullopt);
}

TEST(Logger, WritesOneJsonObjectPerLineWithRequestIdAndFields) {
  std::vector<std::string> lines;
  Logger log(LogLevel::kInfo, [&](std::string_view line) { lines.emplace_back(line); });
  log.info("before");
  log.set_request_id("req-1");
  log.warn("event \"applied\"\n", {{"instance_id", "i-0123456789abcdef0"}, {"count", 3}, {"late", true}});
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) EXPECT_EQ(line.find('\n'), std::string::npos);

  const auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["message"], "before");
  EXPECT_FALSE(first.contains("request_id"));

  const auto second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["level"], "warn");
  EXPECT_EQ(second["message"], "event \"applied\"\n");
  EXPECT_EQ(second["request_id"], "req-1");
  EXPECT_EQ(second["instance_id"], "i-0123456789abcdef0");
  EXPECT_EQ(second["count"], 3);
  EXPECT_EQ(second["late"], true);
}

TEST(Logger, DropsLinesBelowTheMinimumLevel) {
  std::vector<std::string> lines;
  Logger log(LogLevel::kWarn, [&](std::string_view line) { lines.emplace_back(line); });
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["level"], "warn");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["level"], "error");
}

TEST(Logger, KeepsInvalidUtf8InFieldsValidJson) {
  std::vector<std::string> lines;
  Logger log(LogLevel::kDebug, [&](std::string_view line) { lines.emplace_back(line); });
  log.error("bad \xFF payload", {{"payload", std::string_view("\xC3(\x00", 3)}});
  ASSERT_EQ(lines.size(), 1u);
  const auto parsed = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(parsed["message"], "bad \xEF\xBF\xBD payload");
  EXPECT_EQ(parsed["payload"], std::string("\xEF\xBF\xBD(\0", 5));
}

}  // namespace
}  // namespace rcc
