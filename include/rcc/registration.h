// Launch registration: the scale-up records the runners it just launched, so the count includes them at
// once and the counter needs no tag lookup for them (docs/counting.md, docs/table-contract.md 7).
//
// Each launch becomes one conditional write that creates the instance item only when the table has no
// item for the instance (`attribute_not_exists(pk)`): an active runner item in state pending, with its
// key, at order = launch_time_s * 8 + rank(pending). Whatever the counter or reconcile already wrote wins,
// so a registration arriving after the instance's events never revives a terminated instance or moves
// an item backward, and an event arriving after the registration applies on top of it as on any known
// runner. A registered instance EC2 never reports (the launch failed after CreateFleet answered, events
// lost) is repaired by reconcile once its item is older than the grace window, like any other drift.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rcc/runner.h"
#include "rcc/status.h"
#include "rcc/store.h"

namespace rcc {

// One instance the scale-up launched.
struct LaunchedRunner {
  std::string instance_id;     // as CreateFleet/RunInstances returned it
  RunnerKey key;               // the ghr:environment, ghr:Type and ghr:Owner tags it was launched with
  std::int64_t launch_time_s;  // epoch seconds, no later than EC2's launch time: take the clock before
                               // sending the launch request, so every event of the instance orders at or
                               // after the registration
};

enum class RegistrationOutcome {
  kRegistered,    // the item was created: the runner is counted from now on
  kAlreadyKnown,  // the table already had an item for the instance (its events or reconcile came first);
                  // nothing was written. Not a failure.
};

// "registered" / "already_known".
std::string_view registration_outcome_name(RegistrationOutcome outcome);

// What became of one LaunchedRunner.
struct RegistrationResult {
  std::string instance_id;
  Status status;  // ok, or why the instance is not registered (invalid input, or the store's error)
  RegistrationOutcome outcome = RegistrationOutcome::kRegistered;  // meaningful when status.ok()
};

struct RegistrationOptions {
  // ENVIRONMENT_FILTER of the counter writing this table: a launch of another environment is refused
  // with InvalidArgument (the counter and reconcile would never maintain its item). Empty: any environment.
  std::string environment;
};

// Checks one launch: instance_id non-empty and not starting with '#' (the table's own items), the key
// valid (validate_runner_key) and of options.environment when that is set, launch_time_s > 0.
// InvalidArgument naming the problem.
Status validate_launch(const LaunchedRunner& launch, const RegistrationOptions& options);

// Registers every launch, one conditional write each (Store::apply with WriteMode::kCreateOnly, written
// at `now_ms`), in order, and returns one result per launch in the same order. A launch that fails
// validate_launch gets its InvalidArgument and no write; a store error is that launch's status (the
// others are still attempted); a failed condition is kAlreadyKnown. The write creates the runner item,
// or claims an item the counter recorded unresolved (LOOKUP_UNREGISTERED=false) while it is pending or
// running, keeping the counter's state and order; anything else the table holds is left alone. Nothing is
// swallowed: the caller decides what a failure means (the runners exist either way, and the counter still
// finds them through their events and a tag lookup, or reconcile). Uses `store` from the calling thread
// only.
std::vector<RegistrationResult> register_launches(Store& store, const std::vector<LaunchedRunner>& launches,
                                                  const RegistrationOptions& options, std::int64_t now_ms);

// The number of results that are not ok.
std::int64_t count_failures(const std::vector<RegistrationResult>& results);

}  // namespace rcc
