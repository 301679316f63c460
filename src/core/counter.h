// apply_event: one EC2 state-change event into the store (the counting rules of docs/counting.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rcc/event.h"
#include "rcc/runner.h"
#include "rcc/status.h"
#include "rcc/store.h"
#include "core/tag_source.h"

namespace rcc {

struct CounterOptions {
  std::vector<std::string> environments;  // ENVIRONMENT_FILTER: runners of other environments are non-runners
  std::int64_t ttl_seconds = 86400;  // TTL_SECONDS: how long inactive and non-runner items are kept
  // LOOKUP_UNREGISTERED: whether an instance the table does not know is looked up in EC2 (true), or
  // recorded as unresolved without a request (false: every runner is registered by its scale-up, and
  // reconcile counts the few that were not).
  bool lookup_unregistered = true;
};

enum class EventOutcome {
  kApplied,          // the runner's item moved to the event's state
  kDuplicateOrLate,  // the item already holds this or a later observation (or is terminated)
  kNonRunner,        // the instance is not a runner of this environment; recorded so it costs no lookup again
  kUnregistered,     // nobody registered the instance and lookups are off: recorded as unresolved, not counted
};

std::string_view outcome_name(EventOutcome outcome);

struct ApplyReport {
  EventOutcome outcome = EventOutcome::kApplied;
  bool tag_lookup = false;             // the TagSource was asked
  bool unknown_tags = false;           // a finished instance EC2 no longer knows: recorded without tags
  int store_round_trips = 0;           // Store calls made
  std::optional<std::string> key;      // the runner's key string, when a runner
};

// Applies `event` at `now_ms`.
//
// Known runner: one conditional write. Otherwise the item is read; a missing item's tags are looked up
// once and the item is created with them (a non-runner gets an item too, with a TTL); a finished
// instance EC2 does not know is recorded as a terminated non-runner. With lookup_unregistered false a
// missing item is created unresolved instead (only where no item exists; a registration that wins the
// race is found on the next pass), and later events of an unresolved instance refresh its state. Returns the error of a lookup or a
// write that failed (never swallowed); InvalidArgument, writing nothing, for an event more than
// kMaxEventSkewMs ahead of now_ms (check_event_time), so the caller fails the invocation and the event is retried; a
// retried event is then applied exactly once.
Result<ApplyReport> apply_event(Store& store, TagSource& tags, const InstanceEvent& event,
                                const CounterOptions& options, std::int64_t now_ms);

}  // namespace rcc
