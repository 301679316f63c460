#include "app/metrics.h"

namespace rcc {

Metrics::Metrics(std::string metrics_namespace, std::vector<std::pair<std::string, std::string>> dimensions,
                 LogSink sink)
    : namespace_(std::move(metrics_namespace)), dimensions_(std::move(dimensions)), sink_(std::move(sink)) {}

void Metrics::add(std::string_view name, std::int64_t value) {
  auto it = values_.find(name);
  if (it == values_.end()) it = values_.emplace(std::string(name), 0).first;
  it->second += value;
}

std::int64_t Metrics::value(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? 0 : it->second;
}

std::string Metrics::format(std::int64_t timestamp_ms) const {
  if (values_.empty()) return "";
  std::string out = "{\"_aws\":{\"Timestamp\":";
  out += std::to_string(timestamp_ms);
  out += ",\"CloudWatchMetrics\":[{\"Namespace\":";
  append_json_string(out, namespace_);
  out += ",\"Dimensions\":[[";
  for (std::size_t i = 0; i < dimensions_.size(); ++i) {
    if (i > 0) out += ',';
    append_json_string(out, dimensions_[i].first);
  }
  out += "]],\"Metrics\":[";
  bool first = true;
  for (const auto& [name, value] : values_) {
    if (!first) out += ',';
    first = false;
    out += "{\"Name\":";
    append_json_string(out, name);
    out += ",\"Unit\":\"Count\"}";
  }
  out += "]}]}";
  for (const auto& [name, value] : dimensions_) {
    out += ',';
    append_json_string(out, name);
    out += ':';
    append_json_string(out, value);
  }
  for (const auto& [name, value] : values_) {
    out += ',';
    append_json_string(out, name);
    out += ':';
    out += std::to_string(value);
  }
  out += '}';
  return out;
}

void Metrics::flush(std::int64_t timestamp_ms) {
  if (values_.empty()) return;
  if (sink_) sink_(format(timestamp_ms));
  values_.clear();
}

}  // namespace rcc
