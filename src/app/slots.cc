#include "rcc/slots.h"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <random>
#include <vector>

namespace rcc {
namespace {

// A grant removes at most this many run-out entries (DynamoDB limits an expression to 4 KB); the next
// grants remove the rest.
constexpr std::size_t kMaxRemovalsPerGrant = 100;

std::mt19937_64& thread_engine() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

}  // namespace

Status validate_slot_options(const SlotOptions& options) {
  if (options.lease_ms <= 0) return Status::InvalidArgument("lease_ms must be > 0");
  if (options.settle_ms < 0) return Status::InvalidArgument("settle_ms must be >= 0");
  if (options.wait_ms < 0) return Status::InvalidArgument("wait_ms must be >= 0");
  if (options.ttl_seconds <= 0) return Status::InvalidArgument("ttl_seconds must be > 0");
  return Status();
}

std::string new_holder_id() {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(thread_engine()()));
  return text;
}

Result<SlotGrant> take_slots(Store& store, RunnerCountReader& reader, const RunnerKey& key, std::int64_t maximum,
                             std::int64_t wanted, const std::string& holder, const SlotOptions& options,
                             Env* env) {
  if (Status s = validate_runner_key(key); !s.ok()) return s;
  if (!GrantEntry::count_in_range(maximum)) {
    return Status::InvalidArgument("maximum must be within 0.." + std::to_string(GrantEntry::kMaxCount));
  }
  if (wanted < 0) return Status::InvalidArgument("wanted must be >= 0");
  if (holder.empty()) return Status::InvalidArgument("empty holder id");
  if (Status s = validate_slot_options(options); !s.ok()) return s;
  // A memoized count may predate the launches of decisions whose entries have settled already.
  if (reader.options().memo_ttl_ms > 0) {
    return Status::InvalidArgument("take_slots needs a reader without memo (memo_ttl_ms = 0)");
  }

  SlotGrant grant;
  grant.key = key;
  grant.holder = holder;
  grant.maximum = maximum;
  grant.wanted = wanted;
  const std::string key_text = key.str();
  const std::int64_t started_ms = env->wall_ms();
  std::int64_t counted_at_ms = 0;  // when the count in grant.count was asked for
  for (;;) {
    // Every launch is in the count or in an entry valid when the count was read (docs/counting.md): an
    // entry is judged at counted_at_ms, not at the lease read, so a release that settled and ran out
    // between the two still counts. A retry whose count has aged past settle_ms / 2 counts again.
    if (grant.counts == 0 || env->wall_ms() - counted_at_ms > options.settle_ms / 2) {
      counted_at_ms = env->wall_ms();
      ++grant.counts;
      auto count = reader.count(key);
      if (!count.ok()) return count.status().with_context("counting " + key_text + " to take slots");
      grant.count = *count;
    }
    ++grant.attempts;
    auto lease = store.get_lease(key_text);
    if (!lease.ok()) return lease.status().with_context("reading the slot lease of " + key_text);
    const std::int64_t now_ms = env->wall_ms();
    grant.in_flight = 0;
    std::optional<GrantEntry> own;  // this holder's entry, when still valid
    std::vector<std::string> removals;
    std::int64_t last_until_ms = now_ms + options.lease_ms;
    for (const auto& [h, entry] : lease->grants) {
      if (entry.until_ms > counted_at_ms) {
        grant.in_flight += entry.count;
        last_until_ms = std::max(last_until_ms, entry.until_ms);
        if (h == holder) own = entry;
      } else if (entry.until_ms <= now_ms - options.lease_ms && h != holder &&
                 removals.size() < kMaxRemovalsPerGrant) {
        // Long run out, even for a clock up to lease_ms behind this one: it counts for nobody.
        removals.push_back(h);
      }
    }
    grant.counted = grant.count.count + grant.in_flight;
    grant.allowed = std::max<std::int64_t>(0, std::min(wanted, maximum - grant.counted));
    grant.version = lease->version;
    if (grant.allowed == 0) {
      // Nothing to reserve: nothing is written.
      grant.expires_ms = 0;
      break;
    }
    GrantEntry entry{grant.allowed, now_ms + options.lease_ms};
    if (own) entry = GrantEntry{own->count + grant.allowed, std::max(own->until_ms, entry.until_ms)};
    auto granted = store.grant_slots(key_text, lease->version, holder, entry, removals,
                                     last_until_ms / 1000 + options.ttl_seconds);
    if (!granted.ok()) return granted.status().with_context("granting slots of " + key_text);
    if (*granted == WriteOutcome::kApplied) {
      grant.version = lease->version + 1;
      grant.expires_ms = entry.until_ms;
      break;
    }
    // Another decision granted first: decide again on the lease as it is now, at once.
    ++grant.conflicts;
    const std::int64_t elapsed = env->wall_ms() - started_ms;
    if (elapsed >= options.wait_ms) {
      return Status::Timeout("other decisions kept granting the slots of " + key_text + " first for " +
                             std::to_string(elapsed) + " ms (" + std::to_string(grant.conflicts) + " conflicts)");
    }
  }
  grant.elapsed_ms = env->wall_ms() - started_ms;
  return grant;
}

std::string_view release_outcome_name(ReleaseOutcome outcome) {
  return outcome == ReleaseOutcome::kReleased ? "released" : "lost";
}

namespace {

Result<ReleaseOutcome> settle(Store& store, const std::string& key_text, const std::string& holder,
                              std::int64_t launched, const SlotOptions& options, std::int64_t now_ms) {
  std::optional<GrantEntry> entry;
  if (launched > 0) entry = GrantEntry{launched, now_ms + options.settle_ms};
  auto settled = store.settle_grant(key_text, holder, entry);
  if (!settled.ok()) return settled.status().with_context("releasing the slots of " + key_text);
  return *settled == WriteOutcome::kApplied ? ReleaseOutcome::kReleased : ReleaseOutcome::kLost;
}

}  // namespace

Result<ReleaseOutcome> release_slots(Store& store, const SlotGrant& grant, std::int64_t launched,
                                     const SlotOptions& options, std::int64_t now_ms) {
  if (launched < 0) return Status::InvalidArgument("launched must be >= 0");
  if (launched > grant.allowed) return Status::InvalidArgument("launched more than the grant allowed");
  if (grant.expires_ms == 0) return ReleaseOutcome::kReleased;  // nothing was granted, nothing written
  return settle(store, grant.key.str(), grant.holder, launched, options, now_ms);
}

Result<ReleaseOutcome> release_slots(Store& store, const RunnerKey& key, const std::string& holder,
                                     std::int64_t launched, const SlotOptions& options, std::int64_t now_ms) {
  if (holder.empty()) return Status::InvalidArgument("empty holder id");
  if (launched < 0) return Status::InvalidArgument("launched must be >= 0");
  if (Status s = validate_runner_key(key); !s.ok()) return s;
  return settle(store, key.str(), holder, launched, options, now_ms);
}

}  // namespace rcc
