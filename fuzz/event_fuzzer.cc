// Fuzzes parse_event, the parser of every invocation payload the counter function receives from
// EventBridge (and of every line `rcc replay` reads).
//
// Properties: it never crashes, throws or leaks; a rejection names the field it rejects; an accepted EC2
// event has a well-formed instance id and survives format_instance_event -> parse_event unchanged.
#include <array>
#include <string_view>
#include <variant>

#include "fuzz_support.h"
#include "rcc/event.h"

namespace {

// The field names parse_event's messages start with (see rcc/event.h).
constexpr std::array<std::string_view, 9> kFields = {"event",  "source", "detail-type",        "source/detail-type",
                                                     "id",     "time",   "detail",             "detail.instance-id",
                                                     "detail.state"};

bool names_a_field(std::string_view message) {
  const auto colon = message.find(':');
  if (colon == std::string_view::npos) return false;
  for (std::string_view field : kFields) {
    if (message.substr(0, colon) == field) return true;
  }
  return false;
}

// Seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years format_rfc3339 writes in 4 digits.
constexpr std::int64_t kFirstFormattable = -62167219200;
constexpr std::int64_t kLastFormattable = 253402300799;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using rcc::fuzz::require;
  auto event = rcc::parse_event(rcc::fuzz::as_text(data, size));
  if (!event.ok()) {
    rcc::fuzz::require_explained(event.status());
    require(event.status().code() == rcc::Code::kInvalidArgument, "a rejected event is InvalidArgument");
    require(names_a_field(event.status().message()), "a rejection names the field");
    return 0;
  }
  const auto* instance = std::get_if<rcc::InstanceEvent>(&*event);
  if (instance == nullptr) return 0;
  require(rcc::is_instance_id(instance->instance_id), "an accepted event has an EC2 instance id");
  if (instance->time_s < kFirstFormattable || instance->time_s > kLastFormattable) return 0;
  auto again = rcc::parse_event(rcc::format_instance_event(*instance));
  require(again.ok(), "a formatted event parses");
  const auto* back = std::get_if<rcc::InstanceEvent>(&*again);
  require(back != nullptr && back->instance_id == instance->instance_id && back->state == instance->state &&
              back->time_s == instance->time_s && back->event_id == instance->event_id,
          "format_instance_event -> parse_event is the identity");
  return 0;
}
