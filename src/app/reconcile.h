// Reconcile: compare the table with EC2 and repair every difference (docs/counting.md, Reconcile).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rcc/deadline.h"
#include "rcc/ec2.h"
#include "rcc/env.h"
#include "rcc/instance.h"
#include "rcc/status.h"
#include "rcc/store.h"

namespace rcc {

struct ReconcileOptions {
  std::vector<std::string> environments;  // ENVIRONMENT_FILTER: one or several environments
  std::int64_t grace_ms = 120000;    // differences whose item changed this recently are left to events
  std::int64_t ttl_seconds = 86400;  // TTL_SECONDS, for the items repairs write
  bool dry_run = false;              // find the differences, write nothing (no repair, no meta record)
  // When not null: no step (the scan, the listing, the lookups, each repair) starts once it has passed.
  const Deadline* deadline = nullptr;
};

// One difference found, and what was done about it.
struct ReconcileFinding {
  enum class Kind {
    kAdded,         // active in EC2, not active in the table
    kRemoved,       // active in the table, not active in EC2
    kLeftForGrace,  // a difference younger than the grace window, or one whose item already holds an
                    // observation newer than the scan: left to the events
  };
  Kind kind = Kind::kAdded;
  std::string instance_id;
  std::string key;                            // the runner key, when known
  InstanceState ec2_state = InstanceState::kTerminated;  // EC2's view (terminated when EC2 forgot it)
  bool written = false;                       // a repair was written and applied
};

struct ReconcileResult {
  ReconcileReport report;
  std::vector<ReconcileFinding> findings;
};

// Runs one reconcile at env->wall_ms() (read once at the scan's start and once at the end): one paginated
// DescribeInstances scan with active_runner_filters(environments) (one environment filter with every
// environment as a value, so N environments cost the pages of one scan, not N scans); every active entry
// of the table; each item active in the table but absent from the scan is looked up by id (one batched
// describe per 200 ids) for its true state, so an entry of an environment no longer counted is removed;
// every difference older than the grace window is written
// through the same conditional write as events (kUpsert, an observation at the scan's start), so an
// event newer than the scan still wins. Unless dry_run, records the report in the meta item.
// Returns the first EC2 or store failure, or Timeout naming the step not started when options.deadline
// passed; a partial repair is safe to repeat.
Result<ReconcileResult> reconcile(Store& store, Ec2& ec2, const ReconcileOptions& options,
                                  Env* env = Env::Default());

}  // namespace rcc
