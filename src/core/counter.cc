#include "core/counter.h"

namespace rcc {
namespace {

// How often apply_event starts over when the item changes between its write and its read (another
// writer created the item in between). Each pass makes progress, so this bound is never reached by
// an honest store; reaching it is reported as retryable.
constexpr int kMaxPasses = 3;

}  // namespace

std::string_view outcome_name(EventOutcome outcome) {
  switch (outcome) {
    case EventOutcome::kApplied: return "applied";
    case EventOutcome::kDuplicateOrLate: return "duplicate_or_late";
    case EventOutcome::kNonRunner: return "non_runner";
    case EventOutcome::kUnregistered: return "unregistered";
  }
  return "unknown";
}

Result<ApplyReport> apply_event(Store& store, TagSource& tags, const InstanceEvent& event,
                                const CounterOptions& options, std::int64_t now_ms) {
  RCC_RETURN_IF_ERROR(check_event_time(event, now_ms));
  ApplyReport report;
  auto transition = [&](WriteMode mode, InstanceIdentity identity = {}) {
    return make_transition(mode, event.instance_id, event.state, event.time_s, now_ms, options.ttl_seconds,
                           std::move(identity));
  };

  for (int pass = 0; pass < kMaxPasses; ++pass) {
    // The common case: a runner the table already knows. One conditional write, no read.
    ++report.store_round_trips;
    std::string key;
    auto written = store.apply(transition(WriteMode::kKnownRunner), &key);
    if (!written.ok()) return written.status();
    if (*written == WriteOutcome::kApplied) {
      report.outcome = EventOutcome::kApplied;
      report.key = std::move(key);
      return report;
    }

    // Superseded: a duplicate or late event, a non-runner, or an instance the table does not know.
    ++report.store_round_trips;
    auto stored = store.get(event.instance_id);
    if (!stored.ok()) return stored.status();

    if (stored->has_value()) {
      const InstanceItem& item = **stored;
      if (item.identity.runner) {
        report.key = item.identity.tagged.str();
        // The write failed on order or on terminated; if it would apply now, the item was created
        // between the write and the read: start over.
        if (transition_applies(item, transition(WriteMode::kKnownRunner))) continue;
        report.outcome = EventOutcome::kDuplicateOrLate;
        return report;
      }
      // A known non-runner (or an unresolved instance): record the state (and renew its TTL) without
      // asking EC2 again.
      ++report.store_round_trips;
      auto refreshed = store.apply(transition(WriteMode::kKnownNonRunner));
      if (!refreshed.ok()) return refreshed.status();
      report.outcome = item.identity.unresolved ? EventOutcome::kUnregistered : EventOutcome::kNonRunner;
      return report;
    }

    if (!options.lookup_unregistered) {
      // Nobody registered the instance: record what the event says without asking EC2. Only where no item
      // exists: a registration written since the read wins, and the next pass finds it.
      ++report.store_round_trips;
      InstanceIdentity unresolved;
      unresolved.unresolved = true;
      auto recorded = store.apply(transition(WriteMode::kCreateUnresolved, std::move(unresolved)));
      if (!recorded.ok()) return recorded.status();
      if (*recorded != WriteOutcome::kApplied) continue;
      report.outcome = EventOutcome::kUnregistered;
      return report;
    }

    // Unknown instance: its tags decide. A finished instance may already be gone from EC2.
    const bool expect_exists =
        event.state != InstanceState::kShuttingDown && event.state != InstanceState::kTerminated;
    report.tag_lookup = true;
    auto found = tags.lookup(event.instance_id, expect_exists);
    if (!found.ok()) return found.status().with_context("tag lookup for " + event.instance_id);

    InstanceIdentity identity;
    if (found->has_value()) {
      identity = identify(**found, options.environments);
    } else if (expect_exists) {
      // An instance said to be alive that the source does not know: never record it as gone.
      return Status::Unavailable("tag lookup for " + event.instance_id + ": instance unknown to the tag source"
                                 " while its event says " + std::string(state_name(event.state)));
    } else {
      report.unknown_tags = true;  // recorded as a finished non-runner: it can never be active again
    }
    if (identity.runner) report.key = identity.tagged.str();

    ++report.store_round_trips;
    auto created = store.apply(transition(WriteMode::kUpsert, identity));
    if (!created.ok()) return created.status();
    if (!identity.runner) {
      report.outcome = EventOutcome::kNonRunner;
    } else {
      report.outcome =
          *created == WriteOutcome::kApplied ? EventOutcome::kApplied : EventOutcome::kDuplicateOrLate;
    }
    return report;
  }
  return Status::Unavailable("instance " + event.instance_id + " kept changing while the event was applied");
}

}  // namespace rcc
