// The instance item (docs/table-contract.md) and the single conditional write (docs/counting.md), as pure
// functions.
//
// Every store executes a Transition with exactly these semantics: transition_applies() is the condition,
// apply_transition() the new item. The in-memory store calls them directly; the DynamoDB store renders
// the same condition and update as expressions, and the shared contract tests prove the two agree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rcc/event.h"
#include "rcc/runner.h"

namespace rcc {

// One tracked instance, as stored under pk = instance_id.
struct InstanceItem {
  std::string instance_id;
  InstanceState state = InstanceState::kPending;
  std::int64_t order = 0;
  InstanceIdentity identity;               // runner flag and the env/type/owner tags
  std::int64_t updated_ms = 0;             // when the item was last written
  std::optional<std::string> active_key;   // the runner's key, present only while an active runner
  std::optional<std::int64_t> ttl_s;       // expiry (epoch s), only on inactive and non-runner items

  friend bool operator==(const InstanceItem&, const InstanceItem&) = default;
};

// How a write finds its item.
enum class WriteMode {
  // The item is known to be a runner: applies only to an existing runner item. The cheap path for the
  // common event; it needs no identity because the key is already on the item.
  kKnownRunner,
  // The item is known to be a non-runner: applies only to an existing non-runner item.
  kKnownNonRunner,
  // Creates the item, or overwrites an existing one, with the identity carried by the transition.
  kUpsert,
  // Creates the item with the identity carried by the transition when the table has no item for the
  // instance, or claims an unresolved item that is still active (launch registration): never overrides
  // what the counter or reconcile learnt from EC2, and never revives a finished instance.
  kCreateOnly,
  // Creates an unresolved item (identity.unresolved) only when the table has no item for the instance:
  // the counter's record of an instance nobody registered, when lookups are off.
  kCreateUnresolved,
};

// True for the modes that write the identity carried by the transition.
inline bool writes_identity(WriteMode mode) {
  return mode == WriteMode::kUpsert || mode == WriteMode::kCreateOnly || mode == WriteMode::kCreateUnresolved;
}

// True for the modes that never overwrite an observation by its order (kCreateOnly, kCreateUnresolved).
inline bool is_create_mode(WriteMode mode) {
  return mode == WriteMode::kCreateOnly || mode == WriteMode::kCreateUnresolved;
}

// One observation of an instance to be written conditionally.
struct Transition {
  WriteMode mode = WriteMode::kUpsert;
  std::string instance_id;
  InstanceState state = InstanceState::kPending;
  std::int64_t order = 0;
  std::int64_t updated_ms = 0;
  std::int64_t ttl_s = 0;          // expiry written when the new item is inactive or a non-runner
  InstanceIdentity identity;       // used by the modes that write it (writes_identity)
  // A stored order above this bound cannot come from an honest observation: events more than
  // kMaxEventSkewMs ahead of the writer's clock are refused, and repairs are stamped with the clock. Such an
  // item was written by a clock running ahead (or before events were bounded), would pin the instance
  // forever, and is overwritten whatever its state (the create modes excepted). make_transition sets it to the
  // order of the last second within kMaxEventSkewMs of now_ms; 0 turns the exception off.
  std::int64_t order_bound = 0;
};

// Builds the transition that records `state` at `time_s` for `instance_id`, written at `now_ms`, with
// items that may expire doing so `ttl_seconds` after now.
Transition make_transition(WriteMode mode, std::string instance_id, InstanceState state, std::int64_t time_s,
                           std::int64_t now_ms, std::int64_t ttl_seconds, InstanceIdentity identity = {});

// The condition of the counting rules: for kUpsert `attribute_not_exists(pk) OR (order < :order AND state <>
// terminated) OR order > :order_bound`; the known modes additionally require the item to exist with the
// matching runner flag; kCreateOnly is `attribute_not_exists(pk) OR (unresolved AND state is pending or
// running)`; kCreateUnresolved is `attribute_not_exists(pk)` alone. The order_bound clause is present only
// when t.order_bound > 0, and never in the create modes.
bool transition_applies(const InstanceItem* stored, const Transition& t);
inline bool transition_applies(const std::optional<InstanceItem>& stored, const Transition& t) {
  return transition_applies(stored ? &*stored : nullptr, t);
}

// The item after `t` is applied to `stored` (call only when transition_applies()). active_key is set
// exactly when the result is an active runner; ttl_s exactly when it is inactive or a non-runner. A
// kCreateOnly write over an (unresolved) item keeps the item's state and order.
InstanceItem apply_transition(const InstanceItem* stored, const Transition& t);
inline InstanceItem apply_transition(const std::optional<InstanceItem>& stored, const Transition& t) {
  return apply_transition(stored ? &*stored : nullptr, t);
}

// The heartbeat and reconcile record, stored under pk = "#meta".
struct ReconcileReport {
  std::int64_t started_ms = 0;     // the scan's start: repairs are observations at this time
  std::int64_t finished_ms = 0;
  std::int64_t ec2_active = 0;     // active runners EC2 listed for the deployment's environments
  std::int64_t table_active = 0;   // active items the table held
  std::int64_t added = 0;          // active in EC2, not in the table: written active
  std::int64_t removed = 0;        // active in the table, not in EC2: written with EC2's true state
  std::int64_t left_for_grace = 0; // differences left to events: younger than the grace window, or whose
                                   // item holds an observation newer than the scan
  std::int64_t ec2_calls = 0;      // DescribeInstances requests the reconcile made

  friend bool operator==(const ReconcileReport&, const ReconcileReport&) = default;
};

struct MetaItem {
  std::optional<std::int64_t> heartbeat_ms;   // the pipeline last proved alive
  std::vector<std::string> environments;      // what the counter that stamped heartbeat_ms counts, sorted;
                                              // empty when the meta item does not say
  std::optional<std::int64_t> reconciled_ms;  // the last full reconcile finished
  std::optional<ReconcileReport> last_reconcile;

  friend bool operator==(const MetaItem&, const MetaItem&) = default;
};

inline constexpr std::string_view kMetaPk = "#meta";

}  // namespace rcc
