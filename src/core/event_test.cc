#include "rcc/event.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rcc {
namespace {

std::filesystem::path fixtures_dir() {
  const char* shared = std::getenv("RCC_SHARED_DIR");
  return std::filesystem::path(shared ? shared : "../tests/data") / "fixtures" / "events";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string fixture(const std::string& name) {
  const auto text = read_file(fixtures_dir() / name);
  EXPECT_FALSE(text.empty()) << "missing fixture " << (fixtures_dir() / name);
  return text;
}

TEST(ParseEvent, EveryFixtureParses) {
  int parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir())) {
    if (entry.path().extension() != ".json") continue;
    auto event = parse_event(read_file(entry.path()));
    EXPECT_TRUE(event.ok()) << entry.path() << ": " << event.status().to_string();
    ++parsed;
  }
  EXPECT_GE(parsed, 7) << "fixtures not found in " << fixtures_dir();
}

TEST(ParseEvent, EveryStateFixtureGivesItsState) {
  const std::pair<const char*, InstanceState> cases[] = {
      {"ec2-state-pending.json", InstanceState::kPending},
      {"ec2-state-running.json", InstanceState::kRunning},
      {"ec2-state-stopping.json", InstanceState::kStopping},
      {"ec2-state-stopped.json", InstanceState::kStopped},
      {"ec2-state-shutting-down.json", InstanceState::kShuttingDown},
      {"ec2-state-terminated.json", InstanceState::kTerminated},
  };
  for (const auto& [file, state] : cases) {
    auto event = parse_event(fixture(file));
    ASSERT_TRUE(event.ok()) << file << ": " << event.status().to_string();
    const auto* instance = std::get_if<InstanceEvent>(&*event);
    ASSERT_NE(instance, nullptr) << file;
    EXPECT_EQ(instance->state, state) << file;
    EXPECT_TRUE(is_instance_id(instance->instance_id)) << file;
    EXPECT_GT(instance->time_s, 1'600'000'000) << file;
  }
}

TEST(ParseEvent, PendingFixtureFields) {
  auto event = parse_event(fixture("ec2-state-pending.json"));
  ASSERT_TRUE(event.ok());
  const auto& instance = std::get<InstanceEvent>(*event);
  EXPECT_EQ(instance.instance_id, "i-1234567890abcdef0");
  EXPECT_EQ(instance.time_s, 1636666194);  // 2021-11-11T21:29:54Z
  EXPECT_EQ(instance.event_id, "7bf73129-1428-4cd3-a780-95db273d1675");
  EXPECT_EQ(instance.order(), 1636666194LL * 8);
}

TEST(ParseEvent, ScheduledFixture) {
  auto event = parse_event(fixture("scheduled-event.json"));
  ASSERT_TRUE(event.ok()) << event.status().to_string();
  const auto* tick = std::get_if<ScheduledEvent>(&*event);
  ASSERT_NE(tick, nullptr);
  EXPECT_EQ(tick->time_s, 1483123489);  // 2016-12-30T18:44:49Z
}

struct Malformed {
  const char* name;
  std::function<void(nlohmann::json&)> mutate;
  const char* field;  // must appear in the error message
};

TEST(ParseEvent, MalformedVariantsNameTheField) {
  const Malformed cases[] = {
      {"no source", [](auto& j) { j.erase("source"); }, "source"},
      {"foreign source", [](auto& j) { j["source"] = "aws.s3"; }, "source/detail-type"},
      {"foreign detail-type", [](auto& j) { j["detail-type"] = "EC2 Spot Instance Interruption Warning"; },
       "source/detail-type"},
      {"numeric detail-type", [](auto& j) { j["detail-type"] = 7; }, "detail-type"},
      {"no id", [](auto& j) { j.erase("id"); }, "id"},
      {"no time", [](auto& j) { j.erase("time"); }, "time"},
      {"time not rfc3339", [](auto& j) { j["time"] = "2021-11-11 21:29:54"; }, "time"},
      {"time bad month", [](auto& j) { j["time"] = "2021-13-11T21:29:54Z"; }, "time"},
      {"time bad day", [](auto& j) { j["time"] = "2021-02-29T21:29:54Z"; }, "time"},
      {"time no zone", [](auto& j) { j["time"] = "2021-11-11T21:29:54"; }, "time"},
      {"time trailing", [](auto& j) { j["time"] = "2021-11-11T21:29:54Zx"; }, "time"},
      {"no detail", [](auto& j) { j.erase("detail"); }, "detail"},
      {"detail array", [](auto& j) { j["detail"] = nlohmann::json::array(); }, "detail"},
      {"no instance id", [](auto& j) { j["detail"].erase("instance-id"); }, "detail.instance-id"},
      {"instance id shape", [](auto& j) { j["detail"]["instance-id"] = "i-123"; }, "detail.instance-id"},
      {"instance id upper", [](auto& j) { j["detail"]["instance-id"] = "i-1234567890ABCDEF0"; },
       "detail.instance-id"},
      {"instance id prefix", [](auto& j) { j["detail"]["instance-id"] = "x-1234567890abcdef0"; },
       "detail.instance-id"},
      {"instance id number", [](auto& j) { j["detail"]["instance-id"] = 42; }, "detail.instance-id"},
      {"no state", [](auto& j) { j["detail"].erase("state"); }, "detail.state"},
      {"unknown state", [](auto& j) { j["detail"]["state"] = "rebooting"; }, "detail.state"},
      {"state case", [](auto& j) { j["detail"]["state"] = "Running"; }, "detail.state"},
  };
  const auto base = nlohmann::json::parse(fixture("ec2-state-running.json"));
  for (const auto& c : cases) {
    nlohmann::json doc = base;
    c.mutate(doc);
    auto event = parse_event(doc.dump());
    ASSERT_FALSE(event.ok()) << c.name;
    EXPECT_EQ(event.status().code(), Code::kInvalidArgument) << c.name;
    EXPECT_EQ(event.status().message().rfind(std::string(c.field) + ":", 0), 0u)
        << c.name << ": " << event.status().message();
  }
}

TEST(ParseEvent, NotJsonOrNotAnObject) {
  for (const char* text : {"", "{", "[1,2]", "\"x\"", "{\"source\":\"aws.ec2\",}", "\xff\xfe"}) {
    auto event = parse_event(text);
    ASSERT_FALSE(event.ok()) << text;
    EXPECT_EQ(event.status().message().rfind("event:", 0), 0u) << event.status().message();
  }
}

TEST(ParseEvent, ScheduledEventNeedsNoInstance) {
  auto doc = nlohmann::json::parse(fixture("scheduled-event.json"));
  doc["detail"] = nlohmann::json::object();
  EXPECT_TRUE(parse_event(doc.dump()).ok());
  doc["time"] = "yesterday";
  EXPECT_FALSE(parse_event(doc.dump()).ok());
}

TEST(Rfc3339, FractionsAndOffsets) {
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(parse_rfc3339_ms("2021-11-11T21:29:54.000Z"), 1636666194000);
  EXPECT_EQ(parse_rfc3339_ms("2021-11-11T23:29:54+02:00"), 1636666194000);
  EXPECT_EQ(parse_rfc3339_ms("2021-11-11T20:29:54-01:00"), 1636666194000);
  EXPECT_EQ(parse_rfc3339_ms("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(parse_rfc3339_ms("2021-11-11T21:29:54.Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2021-11-11T21:29:54+0200"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2021-11-11T24:00:00Z"), std::nullopt);
}

TEST(Rfc3339, FormatRoundTrips) {
  for (std::int64_t ms : {0LL, 1636666194000LL, 1709164800000LL, 4102444799000LL}) {
    EXPECT_EQ(parse_rfc3339_ms(format_rfc3339(ms)), ms) << format_rfc3339(ms);
  }
  EXPECT_EQ(format_rfc3339(1636666194000), "2021-11-11T21:29:54Z");
}

TEST(InstanceId, Shapes) {
  EXPECT_TRUE(is_instance_id("i-12345678"));
  EXPECT_TRUE(is_instance_id("i-1234567890abcdef0"));
  EXPECT_FALSE(is_instance_id("i-1234567"));
  EXPECT_FALSE(is_instance_id("i-1234567890abcdef"));
  EXPECT_FALSE(is_instance_id("i-1234567g"));
  EXPECT_FALSE(is_instance_id("I-12345678"));
}

TEST(EventOrder, RankBreaksTiesWithinASecond) {
  EXPECT_LT(event_order(10, InstanceState::kPending), event_order(10, InstanceState::kRunning));
  EXPECT_LT(event_order(10, InstanceState::kTerminated), event_order(11, InstanceState::kPending));
  EXPECT_EQ(order_time_s(event_order(10, InstanceState::kStopped)), 10);
}

TEST(FormatInstanceEvent, ParsesBack) {
  const InstanceEvent event{"i-0123456789abcdef0", InstanceState::kShuttingDown, 1636666194, "e-\"1\""};
  auto parsed = parse_event(format_instance_event(event));
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  const auto& back = std::get<InstanceEvent>(*parsed);
  EXPECT_EQ(back.instance_id, event.instance_id);
  EXPECT_EQ(back.state, event.state);
  EXPECT_EQ(back.time_s, event.time_s);
  EXPECT_EQ(back.event_id, event.event_id);
}

TEST(ParseEvent, LimitsAreCheckedBeforeParsing) {
  const std::string event = fixture("ec2-state-running.json");
  // Padding inside a string still counts: the limit is on the text Lambda hands over.
  std::string padded = event;
  padded.insert(padded.find("\"detail\""), "\"padding\":\"" + std::string(kMaxEventBytes, 'x') + "\",");
  auto too_big = parse_event(padded);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().message().rfind("event: ", 0), 0u) << too_big.status().message();
  EXPECT_NE(too_big.status().message().find("262144-byte limit"), std::string::npos);

  // As deep as allowed parses (the extra member is ignored); one level more is refused with the bound.
  const auto nested = [&](int depth) {
    std::string member = "\"extra\":" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + ",";
    std::string text = event;
    text.insert(text.find("\"detail\""), member);
    return parse_event(text);
  };
  EXPECT_TRUE(nested(kMaxEventDepth).ok()) << nested(kMaxEventDepth).status().message();
  auto too_deep = nested(kMaxEventDepth + 1);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_EQ(too_deep.status().message(), "event: nested deeper than 32 levels");

  // Brackets inside strings are text, not nesting.
  std::string brackets = event;
  brackets.insert(brackets.find("\"detail\""), "\"note\":\"" + std::string(1000, '[') + "\\\"{{\",");
  EXPECT_TRUE(parse_event(brackets).ok()) << parse_event(brackets).status().message();

  // A million levels (the shape that once had to be survived) is now refused before any parsing.
  auto million = parse_event(std::string(1000000, '['));
  ASSERT_FALSE(million.ok());
  EXPECT_EQ(million.status().message().rfind("event: ", 0), 0u);
}

}  // namespace
}  // namespace rcc
