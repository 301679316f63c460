// CounterFunction: the Lambda handler of the counter (docs/counting.md). One invocation is one EventBridge
// event: an EC2 state change is applied to the store, a schedule tick stamps the heartbeat and, when due,
// reconciles. Its configuration comes from the function's environment variables.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rcc/deadline.h"
#include "rcc/ec2.h"
#include "rcc/env.h"
#include "rcc/event.h"
#include "app/log.h"
#include "app/metrics.h"
#include "rcc/status.h"
#include "rcc/store.h"
#include "core/tag_source.h"

namespace rcc {

// One of the function's own environment variables.
struct FunctionVariable {
  std::string_view name;
  std::string_view default_value;  // "" for a required variable
  bool required = false;
  std::string_view description;
};

// Exactly the function's own variables, in the order documented: RUNNER_COUNT_CACHE_TABLE_NAME,
// RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS, ENVIRONMENT_FILTER, RECONCILE_INTERVAL_S, TTL_SECONDS, LOG_LEVEL,
// METRICS_NAMESPACE, LOOKUP_UNREGISTERED. The AWS variables (AWS_REGION, credentials, AWS_ENDPOINT_URL*) are not in it.
std::span<const FunctionVariable> function_variables();

struct CounterFunctionConfig {
  std::string table_name;                      // RUNNER_COUNT_CACHE_TABLE_NAME
  std::int64_t stale_threshold_ms = 60000;     // RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS
  std::vector<std::string> environments;       // ENVIRONMENT_FILTER, e.g. "prod" or "prod,staging"
  std::int64_t reconcile_interval_s = 300;     // RECONCILE_INTERVAL_S
  std::int64_t ttl_seconds = 86400;            // TTL_SECONDS
  LogLevel log_level = LogLevel::kInfo;        // LOG_LEVEL
  std::string metrics_namespace = "RunnerCountCache";  // METRICS_NAMESPACE
  bool lookup_unregistered = true;             // LOOKUP_UNREGISTERED (true or false)
};

// Upper bounds of the numeric variables: a year for the intervals and ten years for the TTL, so that
// reconcile_interval_s * 1000, 3 * that, and now / 1000 + ttl_seconds cannot overflow.
inline constexpr std::int64_t kMaxStaleThresholdMs = 365LL * 86400 * 1000;
inline constexpr std::int64_t kMaxReconcileIntervalS = 365LL * 86400;
inline constexpr std::int64_t kMaxTtlSeconds = 10LL * 365 * 86400;

// Reads the configuration from `env`'s variables (an empty one is unset), using the defaults of
// function_variables(). Returns InvalidArgument naming the variable when a required one is
// missing, a number is not a decimal integer from 1 to its kMax* bound above, ENVIRONMENT_FILTER is not a
// valid list (parse_environment_list), LOG_LEVEL is not debug/info/warn/error, or LOOKUP_UNREGISTERED is
// not true/false.
Result<CounterFunctionConfig> config_from_env(Env& env);

// The heartbeat is stamped by an invocation at most this often per process...
inline constexpr std::int64_t kHeartbeatIntervalMs = 10000;
// ...or, when readers are told a shorter stale threshold, at most every half of it, so that this throttle
// never makes a live pipeline look stale to them: min(kHeartbeatIntervalMs, stale_threshold_ms / 2), >= 1.
std::int64_t heartbeat_interval_ms(std::int64_t stale_threshold_ms);

// What an invocation keeps of its Lambda deadline for itself: its AWS calls, EC2 lookups and reconcile
// stop this long before the deadline, leaving the time to log, flush the metrics line and post the
// response or error to the Runtime API (a loopback HTTP request), so an invocation is never killed by
// its timeout with nothing posted.
inline constexpr std::int64_t kDeadlineMarginMs = 500;

// Counters of one CounterFunction, for tests and benchmarks.
struct CounterFunctionStats {
  std::int64_t invocations = 0;
  std::int64_t instance_events = 0;
  std::int64_t scheduled_events = 0;
  std::int64_t malformed_events = 0;
  std::int64_t failures = 0;
  std::int64_t heartbeats = 0;
  std::int64_t reconciles = 0;
  std::int64_t store_round_trips = 0;  // by apply_event, the heartbeat, the meta read (not reconcile's)
};

// Handles invocations on `store` with `ec2` for reconcile and `tags` for new instances' tags; logs to
// `log`, adds to `metrics` and flushes one EMF line per invocation. Time comes from `env`. `deadline` is the
// Deadline the store's, EC2's and the tag source's clients were built with (null: the function keeps its
// own, which then bounds only reconcile); handle() sets it for each invocation. Every reference and pointer
// must outlive the function. Thread-compatible: one invocation at a time (Lambda's model).
class CounterFunction {
 public:
  CounterFunction(CounterFunctionConfig config, Store& store, Ec2& ec2, TagSource& tags, Logger& log,
                  Metrics& metrics, Env* env = Env::Default(), Deadline* deadline = nullptr);

  // Handles one EventBridge event (`payload`, the invocation's JSON) for `request_id`. When `deadline_ms`
  // (wall-clock epoch ms, Lambda-Runtime-Deadline-Ms) is not 0, the work is cut kDeadlineMarginMs before
  // it: a call that would outlast it fails with Timeout (retryable), which fails the invocation in time
  // for Lambda to retry it. A deadline more than a day before or after now counts as a day away.
  //
  // - EC2 state change: apply_event. Returns a summary body {"outcome":..,"instance_id":..,"key":..}; or the
  //   lookup or write failure that survived the clients' retries, which must fail the invocation.
  // - Schedule tick: stamps the heartbeat (with the environments counted), reads the meta item and, when never reconciled or
  //   now - reconciled_ms >= reconcile_interval_s * 1000, runs reconcile (one of them per tick).
  //   Returns {"heartbeat_ms":..,"reconciled":0|1} plus, after a reconcile, "added", "removed" and
  //   "left_for_grace"; or the store/EC2 failure.
  // - Malformed or foreign payload, or an EC2 event more than kMaxEventSkewMs ahead of now: logs the
  //   reason, returns {"ignored":<reason>} (acknowledged, nothing applied; the reason echoes at most 64
  //   bytes of an invalid value).
  // Every invocation that succeeds (malformed ones included) also stamps the heartbeat when
  // heartbeat_interval_ms(config.stale_threshold_ms) passed since this process last did; a failed stamp is logged and, outside a
  // schedule tick, does not fail the invocation.
  Result<std::string> handle(std::string_view request_id, std::string_view payload, std::int64_t deadline_ms = 0);

  const CounterFunctionStats& stats() const { return stats_; }
  const CounterFunctionConfig& config() const { return config_; }

 private:
  Result<std::string> handle_instance_event(const InstanceEvent& event, std::int64_t now_ms);
  Result<std::string> handle_scheduled_event(const ScheduledEvent& event, std::int64_t now_ms);
  Status stamp_heartbeat(std::int64_t now_ms);

  CounterFunctionConfig config_;
  Store& store_;
  Ec2& ec2_;
  TagSource& tags_;
  Logger& log_;
  Metrics& metrics_;
  Env* env_;
  Deadline own_deadline_;
  Deadline* deadline_;
  std::optional<std::int64_t> last_heartbeat_ms_;  // this process's last successful stamp
  CounterFunctionStats stats_;
};

}  // namespace rcc
