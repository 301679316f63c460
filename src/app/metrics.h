// Metrics as CloudWatch Embedded Metric Format (EMF) lines: JSON documents on stdout that CloudWatch Logs
// turns into metrics, so the function needs no PutMetricData call and no extra permission.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/log.h"

namespace rcc {

// The counter function's metric names (unit Count).
namespace metric {
inline constexpr std::string_view kEvents = "Events";                          // invocations handled
inline constexpr std::string_view kTransitionsApplied = "TransitionsApplied";  // state changes written
inline constexpr std::string_view kDuplicateOrLate = "DuplicateOrLate";        // events that changed nothing
inline constexpr std::string_view kTagLookups = "TagLookups";                  // EC2 lookups of new instances
inline constexpr std::string_view kNonRunnerEvents = "NonRunnerEvents";        // events of non-runners
inline constexpr std::string_view kUnregisteredEvents = "UnregisteredEvents";  // recorded unresolved, no lookup
inline constexpr std::string_view kMalformedEvents = "MalformedEvents";        // acknowledged, not applied
inline constexpr std::string_view kFailures = "Failures";                      // invocations failed
inline constexpr std::string_view kReconciles = "Reconciles";                  // reconciles finished
inline constexpr std::string_view kReconcileAdded = "ReconcileAdded";          // drift: active in EC2 only
inline constexpr std::string_view kReconcileRemoved = "ReconcileRemoved";      // drift: active in table only
inline constexpr std::string_view kReconcileLeftForGrace = "ReconcileLeftForGrace";
inline constexpr std::string_view kReconcileDrift = "ReconcileDrift";          // added + removed
}  // namespace metric

// Collects Count metrics and writes them as one EMF document per flush:
//   {"_aws":{"Timestamp":<ms>,"CloudWatchMetrics":[{"Namespace":<ns>,"Dimensions":[[<dimension names>]],
//    "Metrics":[{"Name":<name>,"Unit":"Count"},...]}]},<dimension>:<value>,...,<name>:<value>,...}
// Thread-compatible.
class Metrics {
 public:
  // `dimensions` (name, value) are put on every document; names must not collide with metric names.
  Metrics(std::string metrics_namespace, std::vector<std::pair<std::string, std::string>> dimensions,
          LogSink sink);

  // Adds `value` to the metric `name` (creating it at 0 first, so add(name, 0) declares it).
  void add(std::string_view name, std::int64_t value = 1);

  // The value accumulated since the last flush; 0 when not added.
  std::int64_t value(std::string_view name) const;

  bool empty() const { return values_.empty(); }

  // The EMF document for the metrics added since the last flush, stamped `timestamp_ms`; "" when none.
  std::string format(std::int64_t timestamp_ms) const;

  // Writes format(timestamp_ms) to the sink when not empty, then forgets the values.
  void flush(std::int64_t timestamp_ms);

  const std::string& metrics_namespace() const { return namespace_; }

 private:
  std::string namespace_;
  std::vector<std::pair<std::string, std::string>> dimensions_;
  LogSink sink_;
  std::map<std::string, std::int64_t, std::less<>> values_;
};

}  // namespace rcc
