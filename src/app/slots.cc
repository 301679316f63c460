#include "rcc/slots.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

namespace rcc {
namespace {

constexpr std::int64_t kMaxRetryMs = 1000;

std::mt19937_64& thread_engine() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

// The lease item outlives its last use by ttl_seconds (DynamoDB deletes it lazily after that).
std::int64_t lease_ttl_s(std::int64_t until_ms, const SlotOptions& options) {
  return until_ms / 1000 + options.ttl_seconds;
}

}  // namespace

Status validate_slot_options(const SlotOptions& options) {
  if (options.lease_ms <= 0) return Status::InvalidArgument("lease_ms must be > 0");
  if (options.settle_ms < 0) return Status::InvalidArgument("settle_ms must be >= 0");
  if (options.wait_ms < 0) return Status::InvalidArgument("wait_ms must be >= 0");
  if (options.retry_ms <= 0) return Status::InvalidArgument("retry_ms must be > 0");
  if (options.ttl_seconds <= 0) return Status::InvalidArgument("ttl_seconds must be > 0");
  return Status();
}

std::string new_holder_id() {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(thread_engine()()));
  return text;
}

namespace {

// The entries of `recent` still running at `now_ms`.
std::vector<RecentLaunch> running_at(const std::vector<RecentLaunch>& recent, std::int64_t now_ms) {
  std::vector<RecentLaunch> out;
  for (const RecentLaunch& r : recent) {
    if (r.until_ms > now_ms) out.push_back(r);
  }
  return out;
}

// The TTL of a lease item: ttl_seconds after the last time anything in it matters.
std::int64_t lease_ttl(std::int64_t until_ms, const std::vector<RecentLaunch>& recent, const SlotOptions& options) {
  for (const RecentLaunch& r : recent) until_ms = std::max(until_ms, r.until_ms);
  return lease_ttl_s(until_ms, options);
}

Result<ReleaseOutcome> write_release(Store& store, const std::string& key_text, const std::string& holder,
                                     const std::vector<RecentLaunch>& recent, const SlotOptions& options,
                                     std::int64_t now_ms) {
  auto released = store.release_lease(key_text, holder, recent, lease_ttl(now_ms, recent, options));
  if (!released.ok()) return released.status().with_context("releasing the slot lease of " + key_text);
  return *released == WriteOutcome::kApplied ? ReleaseOutcome::kReleased : ReleaseOutcome::kLost;
}

// The lease's entries at release: those still running plus this decision's launches.
std::vector<RecentLaunch> entries_after(const std::vector<RecentLaunch>& recent, std::int64_t launched,
                                        const SlotOptions& options, std::int64_t now_ms) {
  std::vector<RecentLaunch> out = running_at(recent, now_ms);
  if (launched > 0) out.push_back(RecentLaunch{launched, now_ms + options.settle_ms});
  return out;
}

}  // namespace

Result<SlotGrant> take_slots(Store& store, RunnerCountReader& reader, const RunnerKey& key, std::int64_t maximum,
                             std::int64_t wanted, const std::string& holder, const SlotOptions& options,
                             Env* env) {
  if (Status s = validate_runner_key(key); !s.ok()) return s;
  if (maximum < 0) return Status::InvalidArgument("maximum must be >= 0");
  if (wanted < 0) return Status::InvalidArgument("wanted must be >= 0");
  if (holder.empty()) return Status::InvalidArgument("empty holder id");
  if (Status s = validate_slot_options(options); !s.ok()) return s;
  // A memoized count may predate the previous holder's launches: the decision must read afresh.
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
  std::int64_t pause_ms = options.retry_ms;
  SlotLease lease;
  for (;;) {
    const std::int64_t now_ms = env->wall_ms();
    ++grant.attempts;
    grant.expires_ms = now_ms + options.lease_ms;
    auto taken = store.take_lease(key_text, holder, now_ms, grant.expires_ms, lease_ttl_s(grant.expires_ms, options));
    if (!taken.ok()) return taken.status().with_context("taking the slot lease of " + key_text);
    if (taken->has_value()) {
      lease = std::move(**taken);
      break;
    }
    const std::int64_t waited = now_ms - started_ms;
    if (waited >= options.wait_ms) {
      return Status::Timeout("the slot lease of " + key_text + " stayed busy for " + std::to_string(waited) +
                             " ms (" + std::to_string(grant.attempts) + " attempts)");
    }
    // Full jitter spreads the waiting deciders so they do not retry in lockstep.
    const double jitter = env->uniform();
    const std::int64_t pause = std::max<std::int64_t>(1, static_cast<std::int64_t>(pause_ms * jitter));
    env->sleep_ms(std::min(pause, options.wait_ms - waited));
    pause_ms = std::min(pause_ms * 2, kMaxRetryMs);
  }
  grant.waited_ms = env->wall_ms() - started_ms;

  auto count = reader.count(key);
  if (!count.ok()) {
    // Give the key back at once, with its entries as they were.
    Status failed = count.status().with_context("counting " + key_text + " under the slot lease");
    const std::int64_t now_ms = env->wall_ms();
    auto released = write_release(store, key_text, holder, running_at(lease.recent, now_ms), options, now_ms);
    if (!released.ok()) {
      failed = failed.with_context("the lease stays taken until it expires (" + released.status().message() + ")");
    }
    return failed;
  }
  grant.count = *count;
  grant.recent = running_at(lease.recent, env->wall_ms());
  for (const RecentLaunch& r : grant.recent) grant.in_flight += r.count;
  grant.counted = grant.count.count + grant.in_flight;
  grant.allowed = std::max<std::int64_t>(0, std::min(wanted, maximum - grant.counted));
  return grant;
}

std::string_view release_outcome_name(ReleaseOutcome outcome) {
  return outcome == ReleaseOutcome::kReleased ? "released" : "lost";
}

Result<ReleaseOutcome> release_slots(Store& store, const SlotGrant& grant, std::int64_t launched,
                                     const SlotOptions& options, std::int64_t now_ms) {
  if (launched < 0) return Status::InvalidArgument("launched must be >= 0");
  return write_release(store, grant.key.str(), grant.holder, entries_after(grant.recent, launched, options, now_ms),
                       options, now_ms);
}

Result<ReleaseOutcome> release_slots(Store& store, const RunnerKey& key, const std::string& holder,
                                     std::int64_t launched, const SlotOptions& options, std::int64_t now_ms) {
  if (holder.empty()) return Status::InvalidArgument("empty holder id");
  if (launched < 0) return Status::InvalidArgument("launched must be >= 0");
  if (Status s = validate_runner_key(key); !s.ok()) return s;
  const std::string key_text = key.str();
  auto lease = store.get_lease(key_text);
  if (!lease.ok()) return lease.status().with_context("reading the slot lease of " + key_text);
  if (!lease->has_value() || (*lease)->holder != holder) return ReleaseOutcome::kLost;
  return write_release(store, key_text, holder, entries_after((*lease)->recent, launched, options, now_ms), options,
                       now_ms);
}

}  // namespace rcc
