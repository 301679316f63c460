// The simulator's outputs: the summary table, JSON, the per-minute CSV and the SVG chart.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "sim/simulation.h"

namespace rcc {
namespace {

std::string format(const char* fmt, auto... args) {
  char buffer[512];
  std::snprintf(buffer, sizeof buffer, fmt, args...);
  return buffer;
}

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
  return {{"seed", o.seed},
          {"runners_per_day", o.runners_per_day},
          {"hours", o.hours},
          {"owners", o.owners},
          {"non_runner_share", o.non_runner_share},
          {"max_runners", o.max_runners},
          {"batch_window_ms", o.batch_window_ms},
          {"batch_size", o.batch_size},
          {"ec2_burst", o.ec2_burst},
          {"ec2_refill_per_s", o.ec2_refill_per_s},
          {"duplicate_rate", o.duplicate_rate},
          {"drop_rate", o.drop_rate},
          {"reconcile_interval_s", o.reconcile_interval_s},
          {"stale_threshold_ms", o.stale_threshold_ms},
          {"environment", o.environment}};
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
  j["decisions"] = r.cache.decisions;
  j["decisions_by_strategy"] = {{"baseline", r.baseline.decisions}, {"cache", r.cache.decisions}};
  j["ec2_calls"] = {{"baseline", r.baseline.ec2_calls},
                    {"cache", r.cache.ec2_calls},
                    {"ratio", r.cache.ec2_calls > 0 ? static_cast<double>(r.baseline.ec2_calls) /
                                                          static_cast<double>(r.cache.ec2_calls)
                                                    : 0.0}};
  j["ec2_filtered_calls"] = {{"baseline", r.baseline.ec2_filtered_calls}, {"cache", r.cache.ec2_filtered_calls}};
  j["ec2_by_id_calls"] = {{"baseline", r.baseline.ec2_by_id_calls}, {"cache", r.cache.ec2_by_id_calls}};
  j["ec2_busy_s"] = {{"baseline", std::round(r.baseline.ec2_busy_s)}, {"cache", std::round(r.cache.ec2_busy_s)}};
  j["throttled"] = {{"baseline", r.baseline.ec2_throttled}, {"cache", r.cache.ec2_throttled}};
  j["failed_decisions"] = {{"baseline", r.baseline.failed_decisions}, {"cache", r.cache.failed_decisions}};
  j["decision_latency_ms"] = {{"baseline", latency_json(r.baseline.decision_latency)},
                              {"cache", latency_json(r.cache.decision_latency)}};
  j["job_wait_ms"] = {{"baseline", latency_json(r.baseline.job_wait)}, {"cache", latency_json(r.cache.job_wait)}};
  j["over_max"] = {{"baseline", r.baseline.over_max}, {"cache", r.cache.over_max}};
  j["over_max_runners"] = {{"baseline", r.baseline.over_max_runners}, {"cache", r.cache.over_max_runners}};
  j["launched"] = {{"baseline", r.baseline.launched}, {"cache", r.cache.launched}};
  j["jobs"] = r.cache.jobs;
  j["fallbacks"] = nlohmann::json::object();
  std::int64_t fallbacks = 0;
  for (const auto& [reason, n] : r.fallbacks) {
    j["fallbacks"][reason] = n;
    fallbacks += n;
  }
  j["fallbacks_total"] = fallbacks;
  const CountErrorFigures& e = r.count_error;
  j["count_error"] = {{"max", e.max},           {"p99", e.p99},
                      {"mean_abs", e.mean_abs}, {"samples", e.samples},
                      {"exact_samples", e.exact_samples}, {"final", e.final},
                      {"final_true_active", e.final_true_active}};
  const CounterFigures& c = r.counter;
  j["counter"] = {{"events", c.events},
                  {"deliveries", c.deliveries},
                  {"duplicates", c.duplicates},
                  {"dropped", c.dropped},
                  {"failed_invocations", c.failed_invocations},
                  {"dead_lettered", c.dead_lettered},
                  {"tag_lookups", c.tag_lookups},
                  {"ticks", c.ticks},
                  {"reconciles", c.reconciles},
                  {"reconcile_failures", c.reconcile_failures},
                  {"reconcile_added", c.reconcile_added},
                  {"reconcile_removed", c.reconcile_removed},
                  {"invocation_latency_ms", latency_json(c.invocation_latency)}};
  const DynamoFigures& d = r.dynamo;
  j["dynamodb"] = {{"read_units", d.read_units},
                   {"write_units", d.write_units},
                   {"reads", d.reads},
                   {"writes", d.writes},
                   {"monthly_cost_usd", std::round(d.monthly_cost_usd * 100) / 100},
                   {"price_per_million_wru", r.options.price_per_million_wru},
                   {"price_per_million_rru", r.options.price_per_million_rru}};
  return j.dump(2);
}

std::string simulation_table(const SimulationResult& r) {
  const SimulationOptions& o = r.options;
  const StrategyFigures& b = r.baseline;
  const StrategyFigures& c = r.cache;
  std::ostringstream out;
  out << format("Simulated %s runners/day for %g h: %d owners, max %lld runners per key, seed %llu\n\n",
                grouped(o.runners_per_day).c_str(), o.hours, o.owners, static_cast<long long>(o.max_runners),
                static_cast<unsigned long long>(o.seed));
  auto row = [&](const std::string& name, const std::string& base, const std::string& cache,
                 const std::string& note = "") {
    out << format("  %-34s %18s %18s", name.c_str(), base.c_str(), cache.c_str());
    if (!note.empty()) out << "   " << note;
    out << '\n';
  };
  row("", "baseline (EC2)", "cache (reader)");
  row("scale-up decisions", grouped(b.decisions), grouped(c.decisions));
  const double ratio = c.ec2_calls > 0 ? static_cast<double>(b.ec2_calls) / static_cast<double>(c.ec2_calls) : 0;
  row("EC2 DescribeInstances requests", grouped(b.ec2_calls), grouped(c.ec2_calls),
      ratio >= 1 ? format("%.1fx fewer", ratio) : format("%.1fx more (one lookup per new instance)", 1 / ratio));
  const double filtered_ratio = c.ec2_filtered_calls > 0 ? static_cast<double>(b.ec2_filtered_calls) /
                                                               static_cast<double>(c.ec2_filtered_calls)
                                                         : 0;
  row("  filtered listings (slow)", grouped(b.ec2_filtered_calls), grouped(c.ec2_filtered_calls),
      format("%.0fx fewer", filtered_ratio));
  row("  lookups by instance id (fast)", grouped(b.ec2_by_id_calls), grouped(c.ec2_by_id_calls));
  row("EC2 time spent answering", format("%s s", grouped(std::llround(b.ec2_busy_s)).c_str()),
      format("%s s", grouped(std::llround(c.ec2_busy_s)).c_str()));
  row("throttled requests", grouped(b.ec2_throttled), grouped(c.ec2_throttled));
  row("decision latency p50", duration(b.decision_latency.p50_ms), duration(c.decision_latency.p50_ms));
  row("decision latency p99", duration(b.decision_latency.p99_ms), duration(c.decision_latency.p99_ms));
  row("job wait for a runner p50", duration(b.job_wait.p50_ms), duration(c.job_wait.p50_ms));
  row("job wait for a runner p99", duration(b.job_wait.p99_ms), duration(c.job_wait.p99_ms));
  row("decisions over the maximum", grouped(b.over_max), grouped(c.over_max));
  row("  runners beyond the maximum", grouped(b.over_max_runners), grouped(c.over_max_runners));
  row("failed decisions (count failed)", grouped(b.failed_decisions), grouped(c.failed_decisions));
  std::int64_t fallbacks = 0;
  std::string why;
  for (const auto& [reason, n] : r.fallbacks) {
    fallbacks += n;
    why += (why.empty() ? "" : ", ") + reason + " " + grouped(n);
  }
  row("fallbacks to EC2", "-", grouped(fallbacks), why);

  const CountErrorFigures& e = r.count_error;
  out << format("\nCache count error (cached - true, per decision): max %lld, p99 %lld, mean %.3f; exact in %.1f%% of "
                "%s decisions\n",
                static_cast<long long>(e.max), static_cast<long long>(e.p99), e.mean_abs,
                e.samples > 0 ? 100.0 * static_cast<double>(e.exact_samples) / static_cast<double>(e.samples) : 100.0,
                grouped(e.samples).c_str());
  out << format("At quiescence (window end, deliveries drained, final reconcile): error %lld over %s active runners%s\n",
                static_cast<long long>(e.final), grouped(e.final_true_active).c_str(),
                e.final == 0 ? " (exact)" : " (NOT EXACT)");
  const CounterFigures& k = r.counter;
  out << format("Counter: %s state changes, %s deliveries (%s duplicated, %s dropped), %s tag lookups, %s failed "
                "invocations retried, %s dead-lettered\n",
                grouped(k.events).c_str(), grouped(k.deliveries).c_str(), grouped(k.duplicates).c_str(),
                grouped(k.dropped).c_str(), grouped(k.tag_lookups).c_str(), grouped(k.failed_invocations).c_str(),
                grouped(k.dead_lettered).c_str());
  out << format("Reconcile: %s runs (%s failed), repaired %s missing and %s stale items\n", grouped(k.reconciles).c_str(),
                grouped(k.reconcile_failures).c_str(), grouped(k.reconcile_added).c_str(),
                grouped(k.reconcile_removed).c_str());
  const DynamoFigures& d = r.dynamo;
  out << format("DynamoDB: %s write units, %s read units in %g h -> $%.2f per month on demand "
                "($%.3f per million WRU, $%.3f per million RRU)\n",
                grouped(std::llround(d.write_units)).c_str(), grouped(std::llround(d.read_units)).c_str(), o.hours,
                d.monthly_cost_usd, o.price_per_million_wru, o.price_per_million_rru);
  return out.str();
}

std::string simulation_csv(const SimulationResult& r) {
  std::ostringstream out;
  out << "minute,hour,true_active,cached_active,cache_error,baseline_true_active,ec2_calls_baseline,"
         "ec2_calls_cache,ec2_listings_baseline,ec2_listings_cache,ec2_busy_s_baseline,ec2_busy_s_cache,"
         "decisions_baseline,decisions_cache,fallbacks\n";
  for (const auto& m : r.minutes) {
    out << m.minute << ',' << format("%.3f", static_cast<double>(m.minute) / 60.0) << ',' << m.true_active << ','
        << m.cached_active << ',' << (m.cached_active - m.true_active) << ',' << m.baseline_true_active << ','
        << m.ec2_baseline.requests << ',' << m.ec2_cache.requests << ',' << m.ec2_baseline.listings << ','
        << m.ec2_cache.listings << ',' << format("%.3f", m.ec2_baseline.busy_s) << ','
        << format("%.3f", m.ec2_cache.busy_s) << ',' << m.decisions_baseline << ',' << m.decisions_cache << ','
        << m.fallbacks << '\n';
  }
  return out.str();
}

std::string simulation_svg(const SimulationResult& r) {
  const double width = 960;
  const double height = 640;
  std::vector<double> true_active, cached, busy_baseline, busy_cache;
  for (const auto& m : r.minutes) {
    true_active.push_back(static_cast<double>(m.true_active));
    cached.push_back(static_cast<double>(m.cached_active));
    busy_baseline.push_back(m.ec2_baseline.busy_s);
    busy_cache.push_back(m.ec2_cache.busy_s);
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
        {Series{"true active runners", "#1f77b4", "", true_active},
         Series{"cached count (DynamoDB table)", "#ff7f0e", "5,3", cached}});
  panel(svg, 80, 410, 850, 170, r.options.hours, "EC2 DescribeInstances work per minute (modelled seconds)",
        "EC2 seconds / min",
        {Series{"baseline: a filtered listing per decision", "#d62728", "", busy_baseline},
         Series{"cache: tag lookups by id, reconcile, fallbacks", "#2ca02c", "", busy_cache}});
  svg << format("<text x=\"%.1f\" y=\"%.1f\" class=\"label\" text-anchor=\"middle\">hours since midnight (the window holds one day/night cycle)</text>\n",
                80 + 850 / 2.0, 628.0);
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
