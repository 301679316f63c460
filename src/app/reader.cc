#include "rcc/reader.h"

#include <algorithm>
#include <future>
#include <utility>

#include "rcc/event.h"

namespace rcc {

std::string_view source_name(CountSource source) {
  switch (source) {
    case CountSource::kCache: return "cache";
    case CountSource::kEc2: return "ec2";
  }
  return "unknown";
}

std::string_view reason_name(FallbackReason reason) {
  switch (reason) {
    case FallbackReason::kNone: return "none";
    case FallbackReason::kMetaMissing: return "meta_missing";
    case FallbackReason::kEnvironmentMismatch: return "environment_mismatch";
    case FallbackReason::kHeartbeatStale: return "heartbeat_stale";
    case FallbackReason::kReconcileOverdue: return "reconcile_overdue";
    case FallbackReason::kCacheReadFailed: return "cache_read_failed";
  }
  return "unknown";
}

Status validate_reader_options(const ReaderOptions& options) {
  if (options.stale_threshold_ms < 0) {
    return Status::InvalidArgument("stale_threshold_ms must be >= 0, got " +
                                   std::to_string(options.stale_threshold_ms));
  }
  if (options.reconcile_interval_ms <= 0) {
    return Status::InvalidArgument("reconcile_interval_ms must be > 0, got " +
                                   std::to_string(options.reconcile_interval_ms));
  }
  if (options.memo_ttl_ms < 0) {
    return Status::InvalidArgument("memo_ttl_ms must be >= 0, got " + std::to_string(options.memo_ttl_ms));
  }
  if (options.application_tag.empty()) return Status::InvalidArgument("application_tag must not be empty");
  return Status();
}

Freshness assess_freshness(const std::optional<MetaItem>& meta, std::int64_t now_ms,
                           const ReaderOptions& options) {
  Freshness f;
  if (!meta.has_value()) {
    f.reason = FallbackReason::kMetaMissing;
    f.detail = "no meta item: the counter never ran against this table";
    return f;
  }
  if (!meta->heartbeat_ms.has_value()) {
    f.reason = FallbackReason::kHeartbeatStale;
    f.detail = "the meta item has no heartbeat";
    return f;
  }
  f.age_ms = now_ms - *meta->heartbeat_ms;
  if (*f.age_ms < -kMaxEventSkewMs) {
    f.reason = FallbackReason::kHeartbeatStale;
    f.detail = "heartbeat " + std::to_string(-*f.age_ms) + " ms in the future > clock skew bound " +
               std::to_string(kMaxEventSkewMs) + " ms";
    return f;
  }
  if (*f.age_ms > options.stale_threshold_ms) {
    f.reason = FallbackReason::kHeartbeatStale;
    f.detail = "heartbeat " + std::to_string(*f.age_ms) + " ms old > stale threshold " +
               std::to_string(options.stale_threshold_ms) + " ms";
    return f;
  }
  const std::int64_t overdue_after_ms = 3 * options.reconcile_interval_ms;
  if (!meta->reconciled_ms.has_value()) {
    f.reason = FallbackReason::kReconcileOverdue;
    f.detail = "no reconcile has finished yet";
    return f;
  }
  const std::int64_t since_reconcile_ms = now_ms - *meta->reconciled_ms;
  if (since_reconcile_ms < -kMaxEventSkewMs) {
    f.reason = FallbackReason::kReconcileOverdue;
    f.detail = "last reconcile " + std::to_string(-since_reconcile_ms) + " ms in the future > clock skew bound " +
               std::to_string(kMaxEventSkewMs) + " ms";
    return f;
  }
  if (since_reconcile_ms > overdue_after_ms) {
    f.reason = FallbackReason::kReconcileOverdue;
    f.detail = "last reconcile " + std::to_string(since_reconcile_ms) + " ms ago > 3 x reconcile interval " +
               std::to_string(overdue_after_ms) + " ms";
    return f;
  }
  f.detail = "heartbeat " + std::to_string(*f.age_ms) + " ms old, last reconcile " +
             std::to_string(since_reconcile_ms) + " ms ago";
  return f;
}

Freshness assess_freshness(const std::optional<MetaItem>& meta, std::string_view environment, std::int64_t now_ms,
                           const ReaderOptions& options) {
  if (!meta.has_value()) return assess_freshness(meta, now_ms, options);
  const std::vector<std::string>& counted = meta->environments;
  if (std::find(counted.begin(), counted.end(), environment) != counted.end()) {
    return assess_freshness(meta, now_ms, options);
  }
  Freshness f;
  f.reason = FallbackReason::kEnvironmentMismatch;
  if (meta->heartbeat_ms.has_value()) f.age_ms = now_ms - *meta->heartbeat_ms;
  f.detail = counted.empty() ? "the meta item does not say which environments the table counts"
                             : "the table counts " + join_environment_list(counted) + ", not " + std::string(environment);
  return f;
}

std::int64_t count_matching_runners(const std::vector<Ec2Instance>& instances, const RunnerKey& key,
                                    std::string_view application_tag) {
  std::int64_t n = 0;
  for (const Ec2Instance& instance : instances) {
    if (!is_active(instance.state)) continue;
    const InstanceIdentity identity = identify(instance.tags, key.environment, application_tag);
    if (identity.runner && identity.tagged == key) ++n;
  }
  return n;
}

struct RunnerCountReader::CacheRead {
  Result<std::optional<MetaItem>> meta = Status::Internal("meta not read");
  std::optional<Result<std::int64_t>> count;  // nullopt when the index was not read
};

RunnerCountReader::RunnerCountReader(Store& store, Ec2& ec2, ReaderOptions options, Env* env)
    : store_(store), ec2_(ec2), options_(std::move(options)), env_(env) {}

RunnerCountReader::RunnerCountReader(Store& store, Store& meta_store, Ec2& ec2, ReaderOptions options, Env* env)
    : store_(store), meta_store_(&meta_store), ec2_(ec2), options_(std::move(options)), env_(env) {}

void RunnerCountReader::clear_memo() { memo_.clear(); }

RunnerCountReader::CacheRead RunnerCountReader::read_cache(const RunnerKey& key, std::int64_t now_ms) {
  CacheRead read;
  const std::string key_text = key.str();
  if (meta_store_ != nullptr) {
    // Both requests in flight together: the meta read on a second thread with its own store handle.
    auto meta = std::async(std::launch::async, [store = meta_store_] { return store->get_meta(); });
    read.count = store_.count_active(key_text);
    read.meta = meta.get();
    return read;
  }
  read.meta = store_.get_meta();
  if (read.meta.ok() &&
      assess_freshness(*read.meta, key.environment, now_ms, options_).reason != FallbackReason::kNone) {
    return read;  // stale already: the index count would be thrown away
  }
  read.count = store_.count_active(key_text);
  return read;
}

Result<CountAnswer> RunnerCountReader::count(const RunnerKey& key) {
  RCC_RETURN_IF_ERROR(validate_runner_key(key));
  const std::int64_t now_ms = env_->wall_ms();
  const std::string key_text = key.str();

  if (options_.memo_ttl_ms > 0) {
    auto it = memo_.find(key_text);
    if (it != memo_.end()) {
      const std::int64_t elapsed_ms = now_ms - it->second.at_ms;
      // A cache answer is served again only while the meta item it was read with would still pass the
      // freshness rule now; else the cache can no longer vouch for it and the key is read again.
      const bool within_ttl = elapsed_ms >= 0 && elapsed_ms < options_.memo_ttl_ms;
      const MemoEntry& entry = it->second;
      const bool still_fresh = entry.answer.source != CountSource::kCache ||
                               assess_freshness(entry.meta, key.environment, now_ms, options_).reason == FallbackReason::kNone;
      if (within_ttl && still_fresh) {
        CountAnswer answer = entry.answer;
        answer.memoized = true;
        if (answer.age_ms.has_value()) *answer.age_ms += elapsed_ms;
        ++stats_.counts;
        ++stats_.memo_hits;
        return answer;
      }
      memo_.erase(it);
    }
  }

  CountAnswer answer;
  std::optional<MetaItem> meta;  // kept with a memoized cache answer, to re-check its freshness
  CacheRead read = read_cache(key, now_ms);
  if (!read.meta.ok()) {
    answer.reason = FallbackReason::kCacheReadFailed;
    answer.detail = "reading the meta item failed: " + read.meta.status().to_string();
  } else {
    meta = *read.meta;
    Freshness freshness = assess_freshness(meta, key.environment, now_ms, options_);
    answer.age_ms = freshness.age_ms;
    answer.reason = freshness.reason;
    answer.detail = std::move(freshness.detail);
    if (answer.reason == FallbackReason::kNone) {
      if (read.count.has_value() && read.count->ok()) {
        answer.count = **read.count;
        answer.source = CountSource::kCache;
      } else {
        answer.reason = FallbackReason::kCacheReadFailed;
        answer.detail = "counting the active index failed: " +
                        (read.count.has_value() ? read.count->status().to_string() : std::string("not read"));
      }
    }
  }

  if (answer.reason != FallbackReason::kNone) {
    ++stats_.fallbacks[answer.reason];
    auto instances = ec2_.describe_instances(active_runner_filters(key.environment));
    if (!instances.ok()) {
      ++stats_.failures;
      // Same code as EC2's failure, so retryable() still tells throttling apart; the message names both.
      return instances.status().with_context("cache " + std::string(reason_name(answer.reason)) + ": " +
                                             answer.detail + "; EC2 fallback failed");
    }
    answer.count = count_matching_runners(*instances, key, options_.application_tag);
    answer.source = CountSource::kEc2;
    ++stats_.ec2_answers;
  } else {
    ++stats_.cache_answers;
  }
  ++stats_.counts;
  if (options_.memo_ttl_ms > 0) memo_[key_text] = MemoEntry{answer, now_ms, std::move(meta)};
  return answer;
}

}  // namespace rcc
