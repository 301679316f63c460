// The simulator's outputs: the summary table, JSON, the per-minute CSV and the SVG chart.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <span>
#include <sstream>

#include <nlohmann/json.hpp>

#include "sim/format.h"
#include "sim/simulation.h"

namespace rcc {
namespace {

using sim::format;

// 12345678 -> "12,345,678".
std::string grouped(std::int64_t n) {
  std::string digits = std::to_string(std::llabs(n));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

// A latency for people: "7.9 ms", "21.3 s".
std::string duration(double ms) {
  if (ms < 1000) return format("%.1f ms", ms);
  if (ms < 600000) return format("%.1f s", ms / 1000);
  return format("%.1f min", ms / 60000);
}

nlohmann::json latency_json(const LatencyFigures& f) {
  return {{"p50", std::round(f.p50_ms * 10) / 10}, {"p99", std::round(f.p99_ms * 10) / 10},
          {"max", std::round(f.max_ms * 10) / 10}};
}

nlohmann::json options_json(const SimulationOptions& o) {
  nlohmann::json strategies = nlohmann::json::array();
  for (SimStrategy s : o.strategies) strategies.push_back(std::string(strategy_name(s)));
  return {{"seed", o.seed},
          {"strategies", strategies},
          {"runners_per_day", o.runners_per_day},
          {"hours", o.hours},
          {"owners", o.owners},
          {"repo_owner_share", o.repo_owner_share},
          {"non_runner_share", o.non_runner_share},
          {"burst_share", o.burst_share},
          {"bursts_per_day", o.bursts_per_day},
          {"job_median_s", o.job_median_s},
          {"job_sigma", o.job_sigma},
          {"boot_failure_rate", o.boot_failure_rate},
          {"stop_start_rate", o.stop_start_rate},
          {"max_runners", o.max_runners},
          {"batch_window_ms", o.batch_window_ms},
          {"batch_size", o.batch_size},
          {"requeue_delay_ms", o.requeue_delay_ms},
          {"launch_ms", o.launch_ms},
          {"slot_lease_ms", o.slot_lease_ms},
          {"slot_settle_ms", o.slot_settle_ms},
          {"slot_wait_ms", o.slot_wait_ms},
          {"ec2_burst", o.ec2_burst},
          {"ec2_refill_per_s", o.ec2_refill_per_s},
          {"ec2_base_ms", o.ec2_base_ms},
          {"ec2_per_instance_ms", o.ec2_per_instance_ms},
          {"ec2_per_result_ms", o.ec2_per_result_ms},
          {"ec2_jitter_sigma", o.ec2_jitter_sigma},
          {"ec2_by_id_min_ms", o.ec2_by_id_min_ms},
          {"ec2_by_id_max_ms", o.ec2_by_id_max_ms},
          {"ec2_visibility_mean_ms", o.ec2_visibility_mean_ms},
          {"ec2_max_attempts", o.ec2_max_attempts},
          {"ec2_backoff_base_ms", o.ec2_backoff_base_ms},
          {"ec2_backoff_cap_ms", o.ec2_backoff_cap_ms},
          {"delivery_median_ms", o.delivery_median_ms},
          {"delivery_sigma", o.delivery_sigma},
          {"duplicate_rate", o.duplicate_rate},
          {"drop_rate", o.drop_rate},
          {"lambda_retry_delay_ms", o.lambda_retry_delay_ms},
          {"lambda_retries", o.lambda_retries},
          {"environment", o.environment},
          {"tick_interval_ms", o.tick_interval_ms},
          {"reconcile_interval_s", o.reconcile_interval_s},
          {"stale_threshold_ms", o.stale_threshold_ms},
          {"register_lookup_unregistered", o.register_lookup_unregistered},
          {"reconcile_grace_ms", simulation_grace_ms()},
          {"dynamo_min_ms", o.dynamo_min_ms},
          {"dynamo_max_ms", o.dynamo_max_ms},
          {"price_per_million_wru", o.price_per_million_wru},
          {"price_per_million_rru", o.price_per_million_rru}};
}

// The strategies run, in their order.
const std::vector<SimStrategy>& run_strategies(const SimulationResult& r) { return r.options.strategies; }

// Those of them that keep a table.
std::vector<SimStrategy> with_table(const SimulationResult& r) {
  std::vector<SimStrategy> out;
  for (SimStrategy s : r.options.strategies) {
    if (keeps_table(s)) out.push_back(s);
  }
  return out;
}

bool ran(const SimulationResult& r, SimStrategy s) {
  return std::find(r.options.strategies.begin(), r.options.strategies.end(), s) != r.options.strategies.end();
}

// {"baseline": f(baseline), "cache": f(cache), ...} over the strategies run.
template <typename F>
nlohmann::json each(const SimulationResult& r, F f) {
  nlohmann::json j = nlohmann::json::object();
  for (SimStrategy s : run_strategies(r)) j[std::string(strategy_name(s))] = f(r.of(s));
  return j;
}

// The same for the strategies that keep a table.
template <typename F>
nlohmann::json each_with_table(const SimulationResult& r, F f) {
  nlohmann::json j = nlohmann::json::object();
  for (SimStrategy s : with_table(r)) j[std::string(strategy_name(s))] = f(r.of(s));
  return j;
}

std::int64_t fallbacks_total(const StrategyFigures& f) {
  std::int64_t n = 0;
  for (const auto& [reason, count] : f.fallbacks) n += count;
  return n;
}

// `x` as a share of `base` for people: "160%", "5.1%", "0.32%"; "" when base is 0.
std::string share_of(double x, double base) {
  if (base <= 0) return "";
  const double percent = 100.0 * x / base;
  if (percent == 0) return "0%";
  if (percent < 1) return format("%.2f%%", percent);
  if (percent < 10) return format("%.1f%%", percent);
  return format("%.0f%%", percent);
}

// The note of a row of counts or times: each other strategy's figure as a share of the baseline's
// ("cache 160%, register 5.1% of baseline"); "" without a baseline run or when its figure is 0.
std::string versus_baseline(const SimulationResult& r, const std::function<double(const StrategyFigures&)>& value) {
  if (!ran(r, SimStrategy::kBaseline)) return "";
  const double baseline = value(r.of(SimStrategy::kBaseline));
  if (baseline <= 0) return "";
  std::string note;
  for (SimStrategy s : run_strategies(r)) {
    if (s == SimStrategy::kBaseline) continue;
    note += (note.empty() ? "" : ", ") + std::string(strategy_name(s)) + " " + share_of(value(r.of(s)), baseline);
  }
  return note.empty() ? "" : note + " of baseline";
}

// ---- SVG ----

std::string escape_xml(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A round step giving about `ticks` intervals up to `max`.
double nice_step(double max, int ticks) {
  if (max <= 0) return 1;
  const double raw = max / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / magnitude;
  const double nice = r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10;
  return std::max(1.0, nice * magnitude);
}

struct Series {
  std::string label;
  std::string color;
  std::string dash;  // stroke-dasharray, "" for solid
  std::vector<double> values;
};

// One chart panel: axes, grid, ticks, the series as polylines, a legend.
void panel(std::ostringstream& svg, double x0, double y0, double w, double h, double hours, const std::string& title,
           const std::string& y_label, const std::vector<Series>& series) {
  double y_max = 1;
  std::size_t n = 0;
  for (const auto& s : series) {
    for (double v : s.values) y_max = std::max(y_max, v);
    n = std::max(n, s.values.size());
  }
  const double y_step = nice_step(y_max, 5);
  y_max = std::ceil(y_max / y_step) * y_step;
  auto px = [&](double minute) { return x0 + w * minute / std::max(1.0, static_cast<double>(n)); };
  auto py = [&](double v) { return y0 + h - h * v / y_max; };

  svg << format("<text x=\"%.1f\" y=\"%.1f\" class=\"title\">", x0, y0 - 12) << escape_xml(title) << "</text>\n";
  // Horizontal grid and y ticks.
  for (double v = 0; v <= y_max + 1e-9; v += y_step) {
    svg << format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", x0, py(v), x0 + w, py(v));
    svg << format("<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>\n", x0 - 6, py(v) + 4,
                  grouped(static_cast<std::int64_t>(v)).c_str());
  }
  // Hour ticks.
  const double hour_step = hours <= 6 ? 1 : hours <= 12 ? 2 : hours <= 48 ? 3 : 12;
  for (double hr = 0; hr <= hours + 1e-9; hr += hour_step) {
    const double x = px(hr * 60);
    svg << format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>\n", x, y0 + h, x, y0 + h + 5);
    svg << format("<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%g h</text>\n", x, y0 + h + 18,
                  hr);
  }
  svg << format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>\n", x0, y0 + h, x0 + w, y0 + h);
  svg << format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>\n", x0, y0, x0, y0 + h);
  svg << format("<text transform=\"translate(%.1f %.1f) rotate(-90)\" class=\"label\" text-anchor=\"middle\">",
                x0 - 52, y0 + h / 2)
      << escape_xml(y_label) << "</text>\n";

  for (const auto& s : series) {
    svg << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"1.6\"";
    if (!s.dash.empty()) svg << " stroke-dasharray=\"" << s.dash << "\"";
    svg << " points=\"";
    for (std::size_t i = 0; i < s.values.size(); ++i) {
      svg << format("%.1f,%.1f ", px(static_cast<double>(i) + 0.5), py(s.values[i]));
    }
    svg << "\"/>\n";
  }
  // Legend, top right inside the panel.
  double ly = y0 + 8;
  for (const auto& s : series) {
    const double lx = x0 + w - 300;
    svg << format("<rect x=\"%.1f\" y=\"%.1f\" width=\"300\" height=\"18\" fill=\"white\" fill-opacity=\"0.85\"/>\n",
                  lx - 4, ly - 2);
    svg << "<line x1=\"" << format("%.1f", lx) << "\" y1=\"" << format("%.1f", ly + 7) << "\" x2=\""
        << format("%.1f", lx + 26) << "\" y2=\"" << format("%.1f", ly + 7) << "\" stroke=\"" << s.color
        << "\" stroke-width=\"2.5\"";
    if (!s.dash.empty()) svg << " stroke-dasharray=\"" << s.dash << "\"";
    svg << "/>\n";
    svg << format("<text x=\"%.1f\" y=\"%.1f\" class=\"legend\">", lx + 32, ly + 11) << escape_xml(s.label)
        << "</text>\n";
    ly += 20;
  }
}

Status write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IoError("cannot open " + path.string() + " for writing");
  out << text;
  out.close();
  if (!out) return Status::IoError("write failed: " + path.string());
  return Status();
}

}  // namespace

std::string simulation_json(const SimulationResult& r) {
  nlohmann::json j;
  j["options"] = options_json(r.options);
  // The decisions of the cache run (of the first strategy run when the cache did not run).
  const SimStrategy main = ran(r, SimStrategy::kCache) ? SimStrategy::kCache : run_strategies(r).front();
  j["decisions"] = r.of(main).decisions;
  j["decisions_by_strategy"] = each(r, [](const StrategyFigures& f) { return f.decisions; });
  j["jobs"] = r.of(main).jobs;
  j["ec2_calls"] = each(r, [](const StrategyFigures& f) { return f.ec2_calls; });
  j["ec2_filtered_calls"] = each(r, [](const StrategyFigures& f) { return f.ec2_filtered_calls; });
  j["ec2_by_id_calls"] = each(r, [](const StrategyFigures& f) { return f.ec2_by_id_calls; });
  j["ec2_busy_s"] = each(r, [](const StrategyFigures& f) { return std::round(f.ec2_busy_s); });
  j["throttled"] = each(r, [](const StrategyFigures& f) { return f.ec2_throttled; });
  j["failed_decisions"] = each(r, [](const StrategyFigures& f) { return f.failed_decisions; });
  j["decision_latency_ms"] = each(r, [](const StrategyFigures& f) { return latency_json(f.decision_latency); });
  j["job_wait_ms"] = each(r, [](const StrategyFigures& f) { return latency_json(f.job_wait); });
  j["over_max"] = each(r, [](const StrategyFigures& f) { return f.over_max; });
  j["over_max_from_cache"] = each(r, [](const StrategyFigures& f) { return f.over_max_from_cache; });
  j["over_max_runners"] = each(r, [](const StrategyFigures& f) { return f.over_max_runners; });
  j["launched"] = each(r, [](const StrategyFigures& f) { return f.launched; });
  j["fallbacks"] = each_with_table(r, [](const StrategyFigures& f) {
    nlohmann::json reasons = nlohmann::json::object();
    for (const auto& [reason, n] : f.fallbacks) reasons[reason] = n;
    return reasons;
  });
  j["fallbacks_total"] = each_with_table(r, fallbacks_total);
  j["count_error"] = each_with_table(r, [](const StrategyFigures& f) {
    const CountErrorFigures& e = f.count_error;
    return nlohmann::json{{"max", e.max},         {"p99", e.p99},
                          {"mean_abs", e.mean_abs}, {"samples", e.samples},
                          {"exact_samples", e.exact_samples}, {"final", e.final},
                          {"final_true_active", e.final_true_active}};
  });
  j["counter"] = each_with_table(r, [](const StrategyFigures& f) {
    const CounterFigures& c = f.counter;
    return nlohmann::json{{"events", c.events},
                          {"deliveries", c.deliveries},
                          {"duplicates", c.duplicates},
                          {"dropped", c.dropped},
                          {"failed_invocations", c.failed_invocations},
                          {"dead_lettered", c.dead_lettered},
                          {"tag_lookups", c.tag_lookups},
                          {"ticks", c.ticks},
                          {"failed_ticks", c.failed_ticks},
                          {"reconciles", c.reconciles},
                          {"reconcile_added", c.reconcile_added},
                          {"reconcile_removed", c.reconcile_removed},
                          {"invocation_latency_ms", latency_json(c.invocation_latency)}};
  });
  j["dynamodb"] = each_with_table(r, [](const StrategyFigures& f) {
    const DynamoFigures& d = f.dynamo;
    return nlohmann::json{{"read_units", d.read_units},
                          {"write_units", d.write_units},
                          {"reads", d.reads},
                          {"writes", d.writes},
                          {"monthly_cost_usd", std::round(d.monthly_cost_usd * 100) / 100}};
  });
  if (ran(r, SimStrategy::kRegister)) {
    const SlotFigures& k = r.of(SimStrategy::kRegister).slots;
    j["slots"] = {{"register",
                   {{"takes", k.takes},
                    {"lease_reads", k.lease_reads},
                    {"grant_writes", k.grant_writes},
                    {"conflicts", k.conflicts},
                    {"retried", k.retried},
                    {"recounts", k.recounts},
                    {"nothing_granted", k.nothing_granted},
                    {"timeouts", k.timeouts},
                    {"releases", k.releases},
                    {"lost", k.lost},
                    {"registered", k.registered},
                    {"already_known", k.already_known},
                    {"registration_failures", k.registration_failures},
                    {"retried_take_ms", latency_json(k.retried_take)},
                    {"hold_ms", latency_json(k.hold)}}}};
  }
  return j.dump(2);
}

std::string simulation_table(const SimulationResult& r) {
  const SimulationOptions& o = r.options;
  const std::vector<SimStrategy>& all = run_strategies(r);
  const std::vector<SimStrategy> tables = with_table(r);
  std::ostringstream out;
  out << format("Simulated %s runners/day for %g h: %d owners, max %lld runners per key, seed %llu\n\n",
                grouped(o.runners_per_day).c_str(), o.hours, o.owners, static_cast<long long>(o.max_runners),
                static_cast<unsigned long long>(o.seed));
  // A row: the name, one cell per strategy run, a note.
  auto row = [&](const std::string& name, const std::function<std::string(SimStrategy)>& cell,
                 const std::string& note = "") {
    out << format("  %-34s", name.c_str());
    for (SimStrategy s : all) out << format(" %17s", cell(s).c_str());
    if (!note.empty()) out << "   " << note;
    out << '\n';
  };
  auto counts = [&](const std::string& name, std::int64_t StrategyFigures::*field, bool note) {
    row(name, [&](SimStrategy s) { return grouped(r.of(s).*field); },
        note ? versus_baseline(r, [field](const StrategyFigures& f) { return static_cast<double>(f.*field); }) : "");
  };
  auto latency = [&](const std::string& name, LatencyFigures StrategyFigures::*field, double LatencyFigures::*p) {
    row(name, [&](SimStrategy s) { return duration(r.of(s).*field.*p); });
  };
  // A cell only the strategies keeping a table have.
  auto table_cell = [&](SimStrategy s, const std::function<std::string(const StrategyFigures&)>& cell) {
    return keeps_table(s) ? cell(r.of(s)) : std::string("-");
  };
  row("", [](SimStrategy s) {
    switch (s) {
      case SimStrategy::kBaseline: return std::string("baseline (EC2)");
      case SimStrategy::kCache: return std::string("cache (reader)");
      case SimStrategy::kRegister: return std::string("register (slots)");
    }
    return std::string(strategy_name(s));
  });
  counts("scale-up decisions", &StrategyFigures::decisions, false);
  counts("EC2 DescribeInstances requests", &StrategyFigures::ec2_calls, true);
  counts("  filtered listings (slow)", &StrategyFigures::ec2_filtered_calls, true);
  counts("  lookups by instance id (fast)", &StrategyFigures::ec2_by_id_calls, false);
  row("EC2 time spent answering", [&](SimStrategy s) { return format("%s s", grouped(std::llround(r.of(s).ec2_busy_s)).c_str()); },
      versus_baseline(r, [](const StrategyFigures& f) { return f.ec2_busy_s; }));
  counts("throttled requests", &StrategyFigures::ec2_throttled, true);
  latency("decision latency p50", &StrategyFigures::decision_latency, &LatencyFigures::p50_ms);
  latency("decision latency p99", &StrategyFigures::decision_latency, &LatencyFigures::p99_ms);
  latency("job wait for a runner p50", &StrategyFigures::job_wait, &LatencyFigures::p50_ms);
  latency("job wait for a runner p99", &StrategyFigures::job_wait, &LatencyFigures::p99_ms);
  counts("runners launched", &StrategyFigures::launched, false);
  counts("decisions over the maximum", &StrategyFigures::over_max, false);
  counts("  of which counted from the table", &StrategyFigures::over_max_from_cache, false);
  counts("  runners beyond the maximum", &StrategyFigures::over_max_runners, false);
  counts("failed decisions (no count)", &StrategyFigures::failed_decisions, false);
  std::string why;
  for (SimStrategy s : tables) {
    std::string reasons;
    for (const auto& [reason, n] : r.of(s).fallbacks) reasons += (reasons.empty() ? "" : ", ") + reason + " " + grouped(n);
    if (!reasons.empty()) why += (why.empty() ? "" : "; ") + std::string(strategy_name(s)) + ": " + reasons;
  }
  row("fallbacks to EC2", [&](SimStrategy s) { return table_cell(s, [](const StrategyFigures& f) { return grouped(fallbacks_total(f)); }); },
      why);
  row("tag lookups by the counter", [&](SimStrategy s) {
    return table_cell(s, [](const StrategyFigures& f) { return grouped(f.counter.tag_lookups); });
  });
  row("count error p99 / max", [&](SimStrategy s) {
    return table_cell(s, [](const StrategyFigures& f) {
      return grouped(f.count_error.p99) + " / " + grouped(f.count_error.max);
    });
  });
  row("events dead-lettered", [&](SimStrategy s) {
    return table_cell(s, [](const StrategyFigures& f) { return grouped(f.counter.dead_lettered); });
  });

  for (SimStrategy s : tables) {
    const StrategyFigures& f = r.of(s);
    const std::string name(strategy_name(s));
    const CountErrorFigures& e = f.count_error;
    out << format("\n%s: count error (cached - true, per decision): max %lld, p99 %lld, mean %.3f; exact in %.1f%% "
                  "of %s decisions\n",
                  name.c_str(), static_cast<long long>(e.max), static_cast<long long>(e.p99), e.mean_abs,
                  e.samples > 0 ? 100.0 * static_cast<double>(e.exact_samples) / static_cast<double>(e.samples)
                                : 100.0,
                  grouped(e.samples).c_str());
    out << format("%s: at quiescence (window end, deliveries drained, next reconcile): error %lld over %s active "
                  "runners%s\n",
                  name.c_str(), static_cast<long long>(e.final), grouped(e.final_true_active).c_str(),
                  e.final == 0 ? " (exact)" : " (NOT EXACT)");
    const CounterFigures& k = f.counter;
    out << format("%s: counter %s state changes, %s deliveries (%s duplicated, %s dropped), %s tag lookups, %s "
                  "failed invocations retried, %s dead-lettered; %s reconciles (%s failed ticks), repaired %s "
                  "missing and %s stale items\n",
                  name.c_str(), grouped(k.events).c_str(), grouped(k.deliveries).c_str(),
                  grouped(k.duplicates).c_str(), grouped(k.dropped).c_str(), grouped(k.tag_lookups).c_str(),
                  grouped(k.failed_invocations).c_str(), grouped(k.dead_lettered).c_str(),
                  grouped(k.reconciles).c_str(), grouped(k.failed_ticks).c_str(),
                  grouped(k.reconcile_added).c_str(), grouped(k.reconcile_removed).c_str());
    if (s == SimStrategy::kRegister) {
      const SlotFigures& l = f.slots;
      out << format("%s: slots: %s decisions read the lease %s times and wrote %s conditional grants, %s of them "
                    "conflicts (%s decisions retried, take p50 %s, p99 %s; %s counts read again), %s found no free "
                    "slot (nothing written), %s gave up after %s; grant held p50 %s, p99 %s; %s releases, %s lost; "
                    "%s launches registered, %s already known, %s failed\n",
                    name.c_str(), grouped(l.takes).c_str(), grouped(l.lease_reads).c_str(),
                    grouped(l.grant_writes).c_str(), grouped(l.conflicts).c_str(), grouped(l.retried).c_str(),
                    duration(l.retried_take.p50_ms).c_str(), duration(l.retried_take.p99_ms).c_str(),
                    grouped(l.recounts).c_str(), grouped(l.nothing_granted).c_str(), grouped(l.timeouts).c_str(),
                    duration(static_cast<double>(o.slot_wait_ms)).c_str(), duration(l.hold.p50_ms).c_str(),
                    duration(l.hold.p99_ms).c_str(), grouped(l.releases).c_str(), grouped(l.lost).c_str(),
                    grouped(l.registered).c_str(), grouped(l.already_known).c_str(),
                    grouped(l.registration_failures).c_str());
    }
    const DynamoFigures& d = f.dynamo;
    out << format("%s: DynamoDB %s write units, %s read units in %g h -> $%.2f per month on demand\n", name.c_str(),
                  grouped(std::llround(d.write_units)).c_str(), grouped(std::llround(d.read_units)).c_str(), o.hours,
                  d.monthly_cost_usd);
  }
  out << format("\nPrices: $%.3f per million WRU, $%.3f per million RRU\n", o.price_per_million_wru,
                o.price_per_million_rru);
  return out.str();
}

std::string simulation_csv(const SimulationResult& r) {
  std::ostringstream out;
  out << "minute,hour";
  const std::vector<SimStrategy>& all = run_strategies(r);
  const std::vector<SimStrategy> tables = with_table(r);
  auto columns = [&](const char* name, std::span<const SimStrategy> strategies) {
    for (SimStrategy s : strategies) out << ',' << name << '_' << strategy_name(s);
  };
  columns("true_active", all);
  columns("cached_active", tables);
  columns("cache_error", tables);
  columns("ec2_calls", all);
  columns("ec2_listings", all);
  columns("ec2_busy_s", all);
  columns("decisions", all);
  columns("fallbacks", tables);
  out << '\n';
  for (const auto& m : r.minutes) {
    out << m.minute << ',' << format("%.3f", static_cast<double>(m.minute) / 60.0);
    auto values = [&](std::span<const SimStrategy> strategies, auto value) {
      for (SimStrategy s : strategies) out << ',' << value(static_cast<int>(s));
    };
    values(all, [&](int s) { return m.true_active[s]; });
    values(tables, [&](int s) { return m.cached_active[s]; });
    values(tables, [&](int s) { return m.cached_active[s] - m.true_active[s]; });
    values(all, [&](int s) { return m.ec2[s].requests; });
    values(all, [&](int s) { return m.ec2[s].listings; });
    values(all, [&](int s) { return format("%.3f", m.ec2[s].busy_s); });
    values(all, [&](int s) { return m.decisions[s]; });
    values(tables, [&](int s) { return m.fallbacks[s]; });
    out << '\n';
  }
  return out.str();
}

std::string simulation_svg(const SimulationResult& r) {
  const double width = 960;
  const double height = 660;
  const char* colors[kSimStrategies] = {"#d62728", "#2ca02c", "#9467bd"};
  const char* ec2_work[kSimStrategies] = {"a filtered listing per decision", "tag lookups by id, reconcile, fallbacks",
                                          "reconcile, fallbacks, lookups of others"};
  std::vector<Series> active, busy;
  for (SimStrategy s : with_table(r)) {
    const int i = static_cast<int>(s);
    const std::string name(strategy_name(s));
    Series truth{name + " run: true active runners", s == SimStrategy::kCache ? "#1f77b4" : "#17becf", "", {}};
    Series cached{name + " run: cached count (table)", s == SimStrategy::kCache ? "#ff7f0e" : "#8c564b", "5,3", {}};
    for (const auto& m : r.minutes) {
      truth.values.push_back(static_cast<double>(m.true_active[i]));
      cached.values.push_back(static_cast<double>(m.cached_active[i]));
    }
    active.push_back(std::move(truth));
    active.push_back(std::move(cached));
  }
  for (SimStrategy s : run_strategies(r)) {
    const int i = static_cast<int>(s);
    Series series{std::string(strategy_name(s)) + ": " + ec2_work[i], colors[i], "", {}};
    for (const auto& m : r.minutes) series.values.push_back(m.ec2[i].busy_s);
    busy.push_back(std::move(series));
  }
  std::ostringstream svg;
  svg << format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
                width, height, width, height);
  svg << "<title>rcc simulate: runner count cache vs EC2 over a simulated day</title>\n"
         "<style>.title{font-size:15px;font-weight:bold;fill:#222}.tick{font-size:11px;fill:#444}"
         ".label{font-size:12px;fill:#333}.legend{font-size:12px;fill:#222}.grid{stroke:#e4e4e4;stroke-width:1}"
         ".axis{stroke:#555;stroke-width:1}.note{font-size:11px;fill:#555}</style>\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg << format("<text x=\"%.1f\" y=\"26\" class=\"title\" font-size=\"17\">", 80.0)
      << escape_xml(format("rcc simulate: %s runners/day over %g h, %d owners, max %lld per key, seed %llu",
                           grouped(r.options.runners_per_day).c_str(), r.options.hours, r.options.owners,
                           static_cast<long long>(r.options.max_runners),
                           static_cast<unsigned long long>(r.options.seed)))
      << "</text>\n";
  panel(svg, 80, 70, 850, 270, r.options.hours, "Active runners: true (EC2) vs cached (table)", "active runners",
        active);
  panel(svg, 80, 410, 850, 190, r.options.hours, "EC2 DescribeInstances work per minute (modelled seconds)",
        "EC2 seconds / min", busy);
  svg << format("<text x=\"%.1f\" y=\"%.1f\" class=\"label\" text-anchor=\"middle\">hours since midnight (the window holds one day/night cycle)</text>\n",
                80 + 850 / 2.0, 648.0);
  svg << "</svg>\n";
  return svg.str();
}

Status write_simulation_report(const SimulationResult& result, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir + ": " + ec.message());
  const std::filesystem::path base(dir);
  RCC_RETURN_IF_ERROR(write_file(base / "simulate.csv", simulation_csv(result)));
  RCC_RETURN_IF_ERROR(write_file(base / "simulate.svg", simulation_svg(result)));
  RCC_RETURN_IF_ERROR(write_file(base / "simulate.json", simulation_json(result) + "\n"));
  return Status();
}

}  // namespace rcc
