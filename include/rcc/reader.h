// The reader: how many active runners a key has, from the cache when it can vouch for itself, else from
// EC2 (DESIGN 5). This is the API a C++ scale-up links against; docs/table-contract.md gives the same
// contract for scale-ups in other languages.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "rcc/ec2.h"
#include "rcc/runner.h"
#include "rcc/status.h"
#include "rcc/store.h"

namespace rcc {

enum class CountSource { kCache, kEc2 };

// Why the answer came from EC2 instead of the cache.
enum class FallbackReason {
  kNone,              // the answer came from the cache
  kMetaMissing,       // no meta item: the counter never ran against this table
  kHeartbeatStale,    // now - heartbeat_ms > stale_threshold_ms
  kReconcileOverdue,  // no reconcile finished within 3 x reconcile_interval
  kCacheReadFailed,   // reading the meta item or the index failed
};

// "cache" / "ec2".
std::string_view source_name(CountSource source);
// "none", "meta_missing", "heartbeat_stale", "reconcile_overdue", "cache_read_failed".
std::string_view reason_name(FallbackReason reason);

struct CountAnswer {
  std::int64_t count = 0;
  CountSource source = CountSource::kCache;
  std::optional<std::int64_t> age_ms;  // now - heartbeat_ms, when the meta item was read
  FallbackReason reason = FallbackReason::kNone;
  std::string detail;                  // human-readable: the cache error, or the ages compared
};

struct ReaderOptions {
  std::int64_t stale_threshold_ms = 60000;        // RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS
  std::int64_t reconcile_interval_ms = 300000;    // RECONCILE_INTERVAL_S * 1000
  std::int64_t memo_ttl_ms = 0;                   // 0: off. Repeated reads of a key within this age are
                                                  // served from memory, without any request.
  std::string application_tag = "github-action-runner";
};

}  // namespace rcc
