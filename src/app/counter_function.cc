#include "app/counter_function.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include "core/counter.h"
#include "app/reconcile.h"
#include "core/text.h"

namespace rcc {
namespace {

constexpr std::string_view kTableName = "RUNNER_COUNT_CACHE_TABLE_NAME";
constexpr std::string_view kStaleThreshold = "RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS";
constexpr std::string_view kEnvironmentFilter = "ENVIRONMENT_FILTER";
constexpr std::string_view kReconcileInterval = "RECONCILE_INTERVAL_S";
constexpr std::string_view kTtlSeconds = "TTL_SECONDS";
constexpr std::string_view kLogLevel = "LOG_LEVEL";
constexpr std::string_view kMetricsNamespace = "METRICS_NAMESPACE";
constexpr std::string_view kLookupUnregistered = "LOOKUP_UNREGISTERED";

constexpr std::array<FunctionVariable, 8> kVariables = {{
    {kTableName, "", true, "Name of the DynamoDB table that holds the counts."},
    {kStaleThreshold, "60000", false,
     "Milliseconds after the last heartbeat past which readers treat the cache as stale."},
    {kEnvironmentFilter, "", true,
     "The ghr:environment tag value whose runners are counted, or several separated by commas (prod,staging)."},
    {kReconcileInterval, "300", false, "Seconds between full reconciles against EC2 (run by schedule ticks)."},
    {kTtlSeconds, "86400", false, "Seconds to keep items of inactive and non-runner instances."},
    {kLogLevel, "info", false, "Minimum log level: debug, info, warn or error."},
    {kMetricsNamespace, "RunnerCountCache", false, "CloudWatch namespace of the embedded metrics."},
    {kLookupUnregistered, "true", false,
     "true: an instance nobody registered is looked up in EC2 (DescribeInstances by id) on its first event. "
     "false: it is recorded as unresolved without a request, and reconcile counts it if it is a runner; set "
     "it when every scale-up registers its launches."},
}};

std::string_view default_of(std::string_view name) {
  for (const FunctionVariable& v : kVariables) {
    if (v.name == name) return v.default_value;
  }
  return "";
}

Result<std::int64_t> parse_positive(std::string_view name, std::string_view text, std::int64_t max) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0 || value > max) {
    return Status::InvalidArgument(std::string(name) + ": expected an integer from 1 to " + std::to_string(max) +
                                   ", got \"" + utf8_excerpt(text, 64) + "\"");
  }
  return value;
}

std::string summary(std::initializer_list<std::pair<std::string_view, std::string_view>> strings,
                    std::initializer_list<std::pair<std::string_view, std::int64_t>> numbers = {}) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : strings) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, name);
    out += ':';
    append_json_string(out, value);
  }
  for (const auto& [name, value] : numbers) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, name);
    out += ':';
    out += std::to_string(value);
  }
  out += '}';
  return out;
}

}  // namespace

std::span<const FunctionVariable> function_variables() { return kVariables; }

std::int64_t heartbeat_interval_ms(std::int64_t stale_threshold_ms) {
  return std::max<std::int64_t>(1, std::min(kHeartbeatIntervalMs, stale_threshold_ms / 2));
}

Result<CounterFunctionConfig> config_from_env(Env& env) {
  auto read = [&](std::string_view name) -> std::string {
    auto value = env.getenv(name);
    if (value && !value->empty()) return *value;
    return std::string(default_of(name));
  };
  CounterFunctionConfig config;
  for (const FunctionVariable& v : kVariables) {
    if (v.required && read(v.name).empty()) {
      return Status::InvalidArgument(std::string(v.name) + " is required and not set");
    }
  }
  config.table_name = read(kTableName);
  auto environments = parse_environment_list(read(kEnvironmentFilter));
  if (!environments.ok()) {
    return Status::InvalidArgument(std::string(kEnvironmentFilter) + ": " + environments.status().message());
  }
  config.environments = std::move(*environments);
  config.metrics_namespace = read(kMetricsNamespace);

  auto stale = parse_positive(kStaleThreshold, read(kStaleThreshold), kMaxStaleThresholdMs);
  if (!stale.ok()) return stale.status();
  config.stale_threshold_ms = *stale;
  auto interval = parse_positive(kReconcileInterval, read(kReconcileInterval), kMaxReconcileIntervalS);
  if (!interval.ok()) return interval.status();
  config.reconcile_interval_s = *interval;
  auto ttl = parse_positive(kTtlSeconds, read(kTtlSeconds), kMaxTtlSeconds);
  if (!ttl.ok()) return ttl.status();
  config.ttl_seconds = *ttl;

  const std::string lookup = read(kLookupUnregistered);
  if (lookup != "true" && lookup != "false") {
    return Status::InvalidArgument(std::string(kLookupUnregistered) + ": expected true or false, got \"" +
                                   utf8_excerpt(lookup, 64) + "\"");
  }
  config.lookup_unregistered = lookup == "true";

  const std::string level = read(kLogLevel);
  auto parsed_level = parse_log_level(level);
  if (!parsed_level) {
    return Status::InvalidArgument(std::string(kLogLevel) + ": expected debug, info, warn or error, got \"" +
                                   level + "\"");
  }
  config.log_level = *parsed_level;
  return config;
}

CounterFunction::CounterFunction(CounterFunctionConfig config, Store& store, Ec2& ec2, TagSource& tags,
                                 Logger& log, Metrics& metrics, Env* env, Deadline* deadline)
    : config_(std::move(config)),
      store_(store),
      ec2_(ec2),
      tags_(tags),
      log_(log),
      metrics_(metrics),
      env_(env),
      deadline_(deadline != nullptr ? deadline : &own_deadline_) {}

Result<std::string> CounterFunction::handle(std::string_view request_id, std::string_view payload,
                                            std::int64_t deadline_ms) {
  ++stats_.invocations;
  log_.set_request_id(std::string(request_id));
  metrics_.add(metric::kEvents);
  const std::int64_t now_ms = env_->wall_ms();
  if (deadline_ms != 0) {
    // Lambda gives the deadline on the wall clock; the budgets run on the monotonic one. Lambda's deadline
    // is at most 15 minutes away: one further off in either direction (a garbled header) is taken as a
    // day, so the arithmetic cannot overflow.
    constexpr std::int64_t kFarMs = 86400LL * 1000;
    const std::int64_t left_ms = std::clamp(deadline_ms, now_ms - kFarMs, now_ms + kFarMs) - now_ms;
    deadline_->set(env_->monotonic_ms() + left_ms - kDeadlineMarginMs);
  } else {
    deadline_->clear();
  }

  Result<std::string> result = Status::Internal("not handled");
  auto event = parse_event(payload);
  if (event.ok()) {
    // An event from the future would pin its instance: as malformed, acknowledged and not applied.
    if (const auto* instance_event = std::get_if<InstanceEvent>(&*event)) {
      Status in_time = check_event_time(*instance_event, now_ms);
      if (!in_time.ok()) event = std::move(in_time);
    }
  }
  if (!event.ok()) {
    // Retrying a malformed or foreign event cannot help: acknowledge it, say why.
    ++stats_.malformed_events;
    metrics_.add(metric::kMalformedEvents);
    log_.warn("event ignored", {{"outcome", "ignored"}, {"reason", event.status().message()}});
    result = summary({{"ignored", event.status().message()}});
  } else if (const auto* instance_event = std::get_if<InstanceEvent>(&*event)) {
    result = handle_instance_event(*instance_event, now_ms);
  } else {
    result = handle_scheduled_event(std::get<ScheduledEvent>(*event), now_ms);
  }
  // A handled invocation proves the pipeline alive (a tick stamped already). The event is in the table;
  // a failed stamp only delays the proof to a later invocation.
  const std::int64_t interval_ms = heartbeat_interval_ms(config_.stale_threshold_ms);
  if (result.ok() && (!last_heartbeat_ms_ || now_ms - *last_heartbeat_ms_ >= interval_ms)) {
    const Status stamped = stamp_heartbeat(now_ms);
    if (!stamped.ok()) log_.warn("heartbeat failed", {{"error", stamped.to_string()}});
  }

  if (!result.ok()) {
    ++stats_.failures;
    metrics_.add(metric::kFailures);
  }
  metrics_.flush(now_ms);
  log_.set_request_id("");
  deadline_->clear();
  return result;
}

Result<std::string> CounterFunction::handle_instance_event(const InstanceEvent& event, std::int64_t now_ms) {
  ++stats_.instance_events;
  const CounterOptions options{config_.environments, config_.ttl_seconds, config_.lookup_unregistered};
  auto report = apply_event(store_, tags_, event, options, now_ms);
  if (!report.ok()) {
    log_.error("event failed",
               {{"instance_id", event.instance_id},
                {"state", state_name(event.state)},
                {"event_id", event.event_id},
                {"outcome", "failed"},
                {"error_type", code_name(report.status().code())},
                {"error", report.status().message()}});
    return report.status();
  }
  stats_.store_round_trips += report->store_round_trips;
  if (report->tag_lookup) metrics_.add(metric::kTagLookups);
  switch (report->outcome) {
    case EventOutcome::kApplied: metrics_.add(metric::kTransitionsApplied); break;
    case EventOutcome::kDuplicateOrLate: metrics_.add(metric::kDuplicateOrLate); break;
    case EventOutcome::kNonRunner: metrics_.add(metric::kNonRunnerEvents); break;
    case EventOutcome::kUnregistered: metrics_.add(metric::kUnregisteredEvents); break;
  }
  const std::string_view outcome = outcome_name(report->outcome);
  const std::string key = report->key.value_or("");
  log_.info("event applied", {{"instance_id", event.instance_id},
                              {"state", state_name(event.state)},
                              {"key", key},
                              {"outcome", outcome},
                              {"tag_lookup", report->tag_lookup},
                              {"store_round_trips", report->store_round_trips},
                              {"event_id", event.event_id}});
  return summary({{"outcome", outcome}, {"instance_id", event.instance_id}, {"key", key}});
}

Result<std::string> CounterFunction::handle_scheduled_event(const ScheduledEvent& event, std::int64_t now_ms) {
  ++stats_.scheduled_events;
  // The tick is the pipeline's proof of life: always stamp it, and fail the tick when that fails.
  const Status stamped = stamp_heartbeat(now_ms);
  if (!stamped.ok()) {
    log_.error("heartbeat failed", {{"event_id", event.event_id}, {"outcome", "failed"},
                                    {"error", stamped.to_string()}});
    return stamped;
  }

  ++stats_.store_round_trips;
  auto meta = store_.get_meta();
  if (!meta.ok()) {
    log_.error("meta read failed", {{"outcome", "failed"}, {"error", meta.status().to_string()}});
    return meta.status();
  }
  // A plain flag and value rather than an optional: GCC 12 at -Os warns (falsely) of an uninitialized read.
  const bool reconciled_before = meta->has_value() && (*meta)->reconciled_ms.has_value();
  const std::int64_t reconciled_ms = reconciled_before ? *(*meta)->reconciled_ms : 0;
  const std::int64_t interval_ms = config_.reconcile_interval_s * 1000;
  if (reconciled_before && now_ms - reconciled_ms < interval_ms) {
    log_.info("heartbeat", {{"outcome", "heartbeat"}, {"reconcile_due_in_ms", reconciled_ms + interval_ms - now_ms}});
    return summary({}, {{"heartbeat_ms", now_ms}, {"reconciled", 0}});
  }

  ReconcileOptions options;
  options.environments = config_.environments;
  options.ttl_seconds = config_.ttl_seconds;
  options.deadline = deadline_;
  auto result = reconcile(store_, ec2_, options, env_);
  if (!result.ok()) {
    log_.error("reconcile failed", {{"outcome", "failed"},
                                    {"error_type", code_name(result.status().code())},
                                    {"error", result.status().message()}});
    return result.status();
  }
  ++stats_.reconciles;
  const ReconcileReport& r = result->report;
  metrics_.add(metric::kReconciles);
  metrics_.add(metric::kReconcileAdded, r.added);
  metrics_.add(metric::kReconcileRemoved, r.removed);
  metrics_.add(metric::kReconcileLeftForGrace, r.left_for_grace);
  metrics_.add(metric::kReconcileDrift, r.added + r.removed);
  log_.info("reconciled", {{"outcome", "reconciled"},
                           {"ec2_active", r.ec2_active},
                           {"table_active", r.table_active},
                           {"added", r.added},
                           {"removed", r.removed},
                           {"left_for_grace", r.left_for_grace},
                           {"ec2_calls", r.ec2_calls},
                           {"duration_ms", r.finished_ms - r.started_ms}});
  for (const ReconcileFinding& f : result->findings) {
    const std::string_view kind = f.kind == ReconcileFinding::Kind::kAdded     ? "added"
                                  : f.kind == ReconcileFinding::Kind::kRemoved ? "removed"
                                                                               : "left_for_grace";
    log_.debug("reconcile finding", {{"instance_id", f.instance_id},
                                     {"key", f.key},
                                     {"outcome", kind},
                                     {"ec2_state", state_name(f.ec2_state)},
                                     {"written", f.written}});
  }
  return summary({}, {{"heartbeat_ms", now_ms},
                      {"reconciled", 1},
                      {"added", r.added},
                      {"removed", r.removed},
                      {"left_for_grace", r.left_for_grace}});
}

Status CounterFunction::stamp_heartbeat(std::int64_t now_ms) {
  ++stats_.store_round_trips;
  const Status stamped = store_.stamp_heartbeat(now_ms, config_.environments);
  if (!stamped.ok()) return stamped;
  ++stats_.heartbeats;
  last_heartbeat_ms_ = now_ms;
  return Status();
}

}  // namespace rcc
