#include "rcc/instance.h"

namespace rcc {

Transition make_transition(WriteMode mode, std::string instance_id, InstanceState state, std::int64_t time_s,
                           std::int64_t now_ms, std::int64_t ttl_seconds, InstanceIdentity identity) {
  Transition t;
  t.mode = mode;
  t.instance_id = std::move(instance_id);
  t.state = state;
  t.order = event_order(time_s, state);
  t.updated_ms = now_ms;
  t.ttl_s = now_ms / 1000 + ttl_seconds;
  t.identity = std::move(identity);
  t.order_bound = event_order((now_ms + kMaxEventSkewMs) / 1000, InstanceState::kTerminated);
  return t;
}

bool transition_applies(const InstanceItem* stored, const Transition& t) {
  if (!stored) return writes_identity(t.mode);
  if (t.mode == WriteMode::kCreateOnly) return stored->identity.unresolved && is_active(stored->state);
  if (t.mode == WriteMode::kCreateUnresolved) return false;
  if (t.mode == WriteMode::kKnownRunner && !stored->identity.runner) return false;
  if (t.mode == WriteMode::kKnownNonRunner && stored->identity.runner) return false;
  if (t.order_bound > 0 && stored->order > t.order_bound) return true;
  return stored->order < t.order && stored->state != InstanceState::kTerminated;
}

InstanceItem apply_transition(const InstanceItem* stored, const Transition& t) {
  InstanceItem item;
  item.instance_id = t.instance_id;
  item.state = t.state;
  item.order = t.order;
  item.identity = (writes_identity(t.mode) || !stored) ? t.identity : stored->identity;
  if (stored && t.mode == WriteMode::kCreateOnly) {
    // A registration claiming an unresolved item keeps the observation the counter recorded.
    item.state = stored->state;
    item.order = stored->order;
  }
  item.updated_ms = t.updated_ms;
  const bool active_runner = item.identity.runner && is_active(item.state);
  if (active_runner) {
    item.active_key = item.identity.tagged.str();
  } else {
    item.ttl_s = t.ttl_s;
  }
  return item;
}

}  // namespace rcc
