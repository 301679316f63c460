// The reader: how many active runners a key has, from the cache when it can vouch for itself, else from
// EC2. This is the API a C++ scale-up links against; docs/table-contract.md gives the same
// contract for scale-ups in other languages.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rcc/ec2.h"
#include "rcc/env.h"
#include "rcc/runner.h"
#include "rcc/status.h"
#include "rcc/store.h"

namespace rcc {

enum class CountSource { kCache, kEc2 };

// Why the answer came from EC2 instead of the cache.
enum class FallbackReason {
  kNone,              // the answer came from the cache
  kMetaMissing,       // no meta item: the counter never ran against this table
  kEnvironmentMismatch,  // the meta item does not list the key's environment among those the table counts
  kHeartbeatStale,    // now - heartbeat_ms > stale_threshold_ms
  kReconcileOverdue,  // no reconcile finished within 3 x reconcile_interval
  kCacheReadFailed,   // reading the meta item or the index failed
};

// "cache" / "ec2".
std::string_view source_name(CountSource source);
// "none", "meta_missing", "environment_mismatch", "heartbeat_stale", "reconcile_overdue", "cache_read_failed".
std::string_view reason_name(FallbackReason reason);

struct CountAnswer {
  std::int64_t count = 0;
  CountSource source = CountSource::kCache;
  std::optional<std::int64_t> age_ms;  // now - heartbeat_ms, when the meta item was read
  FallbackReason reason = FallbackReason::kNone;
  std::string detail;                  // human-readable: the cache error, or the ages compared
  bool memoized = false;               // served from the reader's memo (ReaderOptions::memo_ttl_ms)
};

struct ReaderOptions {
  std::int64_t stale_threshold_ms = 60000;        // RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS
  std::int64_t reconcile_interval_ms = 300000;    // RECONCILE_INTERVAL_S * 1000
  std::int64_t memo_ttl_ms = 0;                   // 0: off. Repeated reads of a key within this age are
                                                  // served from memory, without any request.
  std::string application_tag = std::string(kRunnerApplication);
};

// Returns InvalidArgument naming the field unless stale_threshold_ms >= 0, reconcile_interval_ms > 0,
// memo_ttl_ms >= 0 and application_tag is non-empty.
Status validate_reader_options(const ReaderOptions& options);

// The freshness verdict (docs/table-contract.md, section 3) for a meta item read at `now_ms`.
struct Freshness {
  FallbackReason reason = FallbackReason::kNone;  // kNone when the cache may answer; never kCacheReadFailed
  std::optional<std::int64_t> age_ms;             // now_ms - heartbeat_ms, when there is a heartbeat
  std::string detail;                             // the comparison that decided, e.g. "heartbeat 61000 ms
                                                  // old > stale threshold 60000 ms"
};

// The pure freshness rule, checked in this order: the meta item missing -> kMetaMissing; heartbeat_ms
// absent, now_ms - heartbeat_ms > stale_threshold_ms, or heartbeat_ms more than kMaxEventSkewMs ahead of
// now_ms -> kHeartbeatStale; reconciled_ms absent, now_ms - reconciled_ms > 3 * reconcile_interval_ms, or
// reconciled_ms more than kMaxEventSkewMs ahead -> kReconcileOverdue; else kNone. Ages exactly at a threshold
// are fresh; a heartbeat up to kMaxEventSkewMs in the future (clock skew) is fresh and reports a negative
// age. A stamp further ahead was written by a clock running ahead: it proves nothing about now, and taken as
// fresh it would keep the cache answering for as long as that clock is ahead.
Freshness assess_freshness(const std::optional<MetaItem>& meta, std::int64_t now_ms,
                           const ReaderOptions& options);

// The rule for a key of `environment` (docs/table-contract.md section 3): the meta item missing ->
// kMetaMissing; `environment` not among meta->environments (or none recorded) -> kEnvironmentMismatch, with
// age_ms when there is a heartbeat; else assess_freshness(meta, now_ms, options).
Freshness assess_freshness(const std::optional<MetaItem>& meta, std::string_view environment, std::int64_t now_ms,
                           const ReaderOptions& options);

// What the scale-up counts today, matched client-side on a DescribeInstances answer: the instances in
// state pending or running whose tags say ghr:Application = `application_tag`, ghr:environment =
// key.environment, ghr:Type = key.type and ghr:Owner = key.owner.
std::int64_t count_matching_runners(const std::vector<Ec2Instance>& instances, const RunnerKey& key,
                                    std::string_view application_tag = kRunnerApplication);

// Counters of one reader since construction.
struct ReaderStats {
  std::int64_t counts = 0;          // count() calls that returned an answer
  std::int64_t cache_answers = 0;   // answers from the cache (memo hits excluded)
  std::int64_t ec2_answers = 0;     // answers from EC2 (memo hits excluded)
  std::int64_t memo_hits = 0;       // answers served from the memo, without any request
  std::int64_t failures = 0;        // count() calls that returned an error (invalid keys excluded)
  std::map<FallbackReason, std::int64_t> fallbacks;  // EC2 answers and failures by the reason they fell back
};

// RunnerCountReader: "how many active runners does this key have", from the cache when it can vouch for
// itself, else from EC2. A read never writes: neither the fallback count nor anything else goes back to
// the table (reconcile owns repairs).
//
// One count() does, at now_ms = env->wall_ms() (read once per call):
//  1. validate_runner_key(key); InvalidArgument without any request when it fails.
//  2. With a memo (options.memo_ttl_ms > 0): an answer for the same key obtained less than memo_ttl_ms ago
//     is returned again with memoized = true and age_ms advanced by the time elapsed; no request. A cache
//     answer is returned again only while its meta item still passes assess_freshness() for the key's
//     environment at now_ms (the
//     heartbeat age plus the time elapsed within the threshold, the reconcile not overdue); otherwise it
//     is dropped and the key is read again as below.
//  3. The cache: the meta item (Store::get_meta) and the key's index count (Store::count_active). With a
//     `meta_store`, the meta read runs on `meta_store` on a second thread while `store` counts, so the two
//     requests are in flight together; without one, both run on the calling thread, meta first, and the
//     index is not read when the meta item already says stale.
//  4. assess_freshness() for key.environment; when fresh and both reads succeeded, the answer is {count, kCache, age_ms, kNone}.
//  5. Otherwise a fallback: ec2.describe_instances(active_runner_filters(key.environment)) (only the state
//     and environment filters go to EC2) and count_matching_runners() client-side. The answer is
//     {count, kEc2, age_ms (when the meta item was read), reason, detail}; reason is the staleness cause, or
//     kCacheReadFailed when the meta item or the index could not be read (detail holds the store error).
//     When EC2 fails too (its own retries spent), returns EC2's status (same code, so retryable() still
//     tells throttling apart) with the message "cache <reason>: <detail>; EC2 fallback failed: <EC2's
//     message>".
//
// Thread-compatible: one thread at a time per reader, like the Store and Ec2 it uses. `store`, `ec2` and
// `meta_store` must outlive the reader and must not be used by anyone else during a count(); `meta_store`
// must be a second handle on the same table (e.g. another DynamoStore), never `store` itself.
class RunnerCountReader {
 public:
  // The clock is `env`'s wall clock (tests and the simulator pass a VirtualEnv); `env` must outlive the
  // reader. `options` must pass validate_reader_options.
  RunnerCountReader(Store& store, Ec2& ec2, ReaderOptions options, Env* env = Env::Default());
  // The same, reading the meta item through `meta_store` concurrently with the index count on `store`.
  RunnerCountReader(Store& store, Store& meta_store, Ec2& ec2, ReaderOptions options, Env* env = Env::Default());

  RunnerCountReader(const RunnerCountReader&) = delete;
  RunnerCountReader& operator=(const RunnerCountReader&) = delete;

  // The count of `key` with where it came from, as described above. Errors: InvalidArgument for a bad
  // key; EC2's status (message naming both failures) when the cache could not answer and EC2 failed.
  Result<CountAnswer> count(const RunnerKey& key);

  // Forgets every memoized answer.
  void clear_memo();

  const ReaderOptions& options() const { return options_; }
  const ReaderStats& stats() const { return stats_; }

 private:
  struct CacheRead;
  struct MemoEntry {
    CountAnswer answer;
    std::int64_t at_ms = 0;
    std::optional<MetaItem> meta;  // the meta item the answer was read with (a cache answer's freshness)
  };

  CacheRead read_cache(const RunnerKey& key, std::int64_t now_ms);

  Store& store_;
  Store* meta_store_ = nullptr;
  Ec2& ec2_;
  ReaderOptions options_;
  Env* env_;
  std::map<std::string, MemoEntry, std::less<>> memo_;
  ReaderStats stats_;
};

}  // namespace rcc
