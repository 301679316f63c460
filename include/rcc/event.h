// EventBridge events the counter consumes, parsed and validated.
//
// Two kinds exist: the "EC2 Instance State-change Notification" (source aws.ec2) and the "Scheduled Event"
// (source aws.events) the schedule rule sends. Anything else is foreign. Parsing never throws: a malformed
// or foreign event yields an InvalidArgument status whose message names the offending field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "rcc/status.h"

namespace rcc {

// EC2 instance lifecycle states, in the order of their rank (docs/counting.md).
enum class InstanceState : std::uint8_t {
  kPending = 0,
  kRunning = 1,
  kStopping = 2,
  kStopped = 3,
  kShuttingDown = 4,
  kTerminated = 5,
};

// The EC2 spelling: "pending", "running", "stopping", "stopped", "shutting-down", "terminated".
std::string_view state_name(InstanceState state);

// The state spelled `name` in EC2's vocabulary, or nullopt when `name` is not one of the six.
std::optional<InstanceState> parse_state(std::string_view name);

// Active means counted against runners_maximum_count: pending or running.
constexpr bool is_active(InstanceState state) {
  return state == InstanceState::kPending || state == InstanceState::kRunning;
}

// The position of an observation in an instance's history: time_s * 8 + rank(state). A stored item only
// moves to a strictly greater order, so duplicates and older observations are no-ops.
constexpr std::int64_t event_order(std::int64_t time_s, InstanceState state) {
  return time_s * 8 + static_cast<std::int64_t>(state);
}

// The seconds part of an order, the inverse of event_order.
constexpr std::int64_t order_time_s(std::int64_t order) { return order / 8; }

// True for the EC2 instance id shapes: "i-" followed by 8 or 17 lowercase hex digits.
bool is_instance_id(std::string_view id);

// An EC2 state change of one instance.
struct InstanceEvent {
  std::string instance_id;
  InstanceState state = InstanceState::kPending;
  std::int64_t time_s = 0;  // the event's `time`, seconds since the epoch
  std::string event_id;     // EventBridge's `id`, for logs

  std::int64_t order() const { return event_order(time_s, state); }
};

// A tick of the schedule rule.
struct ScheduledEvent {
  std::int64_t time_s = 0;
  std::string event_id;
};

using Event = std::variant<InstanceEvent, ScheduledEvent>;

// The largest event parse_event reads: EventBridge refuses larger events (256 KB per entry), and Lambda
// refuses larger asynchronous payloads, so a larger text is not an event.
inline constexpr std::size_t kMaxEventBytes = 256 * 1024;
// The deepest nesting of arrays and objects parse_event reads. The two kinds of event nest 2 deep; the
// bound keeps the parse tree of a hostile payload small (at most this many levels, whatever its size).
inline constexpr int kMaxEventDepth = 32;

// Parses one EventBridge event from its JSON text.
// Returns InvalidArgument "event: ..." when the text is longer than kMaxEventBytes or nests deeper than
// kMaxEventDepth (checked before parsing). Returns InvalidArgument naming the field ("detail.instance-id: ...") when the JSON is malformed, a
// required member is missing or mistyped, the source/detail-type pair is not one of the two kinds, the
// instance id or state is invalid, or `time` is not RFC 3339.
Result<Event> parse_event(std::string_view json);

// How far an event's `time` may be ahead of the clock of the process applying it. EventBridge stamps
// the time on AWS's clock and delivers afterwards, so an honest event is never ahead by more than the
// two clocks' disagreement (NTP keeps both within a second); 5 minutes tolerates a badly kept operator
// clock and is still short enough that the pinned item it would otherwise create is harmless. An event
// further ahead would set an order no real later event could pass (it is refused, never clamped: its
// true time is unknown).
inline constexpr std::int64_t kMaxEventSkewMs = 5 * 60 * 1000;

// InvalidArgument naming `time` when `event` is more than kMaxEventSkewMs ahead of `now_ms`; else OK.
Status check_event_time(const InstanceEvent& event, std::int64_t now_ms);

// Parses an RFC 3339 timestamp ("2021-11-11T21:29:54Z", fractional seconds and numeric offsets allowed)
// into milliseconds since the epoch. Returns nullopt when the text is not RFC 3339.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);

// Formats milliseconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (UTC, whole seconds).
std::string format_rfc3339(std::int64_t epoch_ms);

// The JSON text of an EC2 state-change event, shaped as EventBridge delivers it. Used by tools that
// generate traces; parse_event(format_instance_event(e)) yields e.
std::string format_instance_event(const InstanceEvent& event, std::string_view region = "us-east-1",
                                  std::string_view account = "123456789012");

}  // namespace rcc
