#include "sim/workload.h"

#include <algorithm>
#include <cmath>

#include "sim/random.h"

namespace rcc::sim {
namespace {

// Picks an index with probability proportional to its weight, given the cumulative weights.
std::size_t pick(const std::vector<double>& cumulative, double u) {
  const double target = u * cumulative.back();
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), target);
  return std::min(static_cast<std::size_t>(it - cumulative.begin()), cumulative.size() - 1);
}

}  // namespace

double day_curve(double fraction) {
  // Quiet nights at 15% of the peak; the working day from 06:30 to 19:30 peaks at 13:00.
  const double hour = 24.0 * fraction;
  const double day = std::sin(3.141592653589793 * (hour - 6.5) / 13.0);
  return 0.15 + 0.85 * std::max(0.0, day);
}

Tags runner_tags(const SimOwner& owner) {
  return Tags{{std::string(kTagApplication), std::string(kRunnerApplication)},
              {std::string(kTagEnvironment), owner.key.environment},
              {std::string(kTagType), owner.key.type},
              {std::string(kTagOwner), owner.key.owner},
              {"Name", owner.key.environment + "-action-runner"}};
}

Workload make_workload(const SimulationOptions& options) {
  Workload w;
  w.end_ms = static_cast<std::int64_t>(options.hours * 3600.0 * 1000.0);
  SimRandom random(options.seed, Stream::kWorkload, 0);

  // Owners: Zipf-like weights; every k-th owner is a repository (Repo runners), the rest organisations.
  for (int i = 0; i < options.owners; ++i) {
    const bool repo = std::floor((i + 1) * options.repo_owner_share) > std::floor(i * options.repo_owner_share);
    SimOwner owner;
    const std::string org = "acme-" + std::to_string(i / 4 + 1);
    owner.key = RunnerKey{options.environment, repo ? "Repo" : "Org",
                          repo ? org + "/service-" + std::to_string(i + 1) : org + "-team-" + std::to_string(i + 1)};
    owner.key_str = owner.key.str();
    owner.weight = 1.0 / std::pow(i + 1.0, 0.9);
    w.owners.push_back(std::move(owner));
  }
  std::vector<double> owner_cumulative;
  double total_weight = 0;
  for (const auto& o : w.owners) owner_cumulative.push_back(total_weight += o.weight);
  for (auto& o : w.owners) o.weight /= total_weight;

  // Arrival times follow the day curve, minute by minute.
  const std::int64_t minutes = std::max<std::int64_t>(1, (w.end_ms + 59999) / 60000);
  std::vector<double> minute_cumulative;
  double acc = 0;
  for (std::int64_t m = 0; m < minutes; ++m) {
    minute_cumulative.push_back(acc += day_curve((static_cast<double>(m) + 0.5) / static_cast<double>(minutes)));
  }
  auto draw_time = [&] {
    const auto m = static_cast<std::int64_t>(pick(minute_cumulative, random.uniform()));
    return std::min(w.end_ms - 1, m * 60000 + static_cast<std::int64_t>(random.uniform() * 60000));
  };

  const auto total_jobs = static_cast<std::int64_t>(
      std::llround(static_cast<double>(options.runners_per_day) * options.hours / 24.0));
  const auto burst_jobs = static_cast<std::int64_t>(std::llround(static_cast<double>(total_jobs) * options.burst_share));
  for (std::int64_t j = 0; j < total_jobs - burst_jobs; ++j) {
    const std::int64_t t = draw_time();
    w.jobs.push_back(SimJob{t, static_cast<int>(pick(owner_cumulative, random.uniform()))});
  }
  if (burst_jobs > 0) {
    const auto bursts = std::max<std::int64_t>(
        1, std::llround(options.bursts_per_day * options.hours / 24.0));
    std::int64_t left = burst_jobs;
    for (std::int64_t b = 0; b < bursts && left > 0; ++b) {
      // Sizes vary around the mean; the last burst takes what is left.
      std::int64_t size = b + 1 == bursts ? left
                                          : std::min(left, static_cast<std::int64_t>(std::llround(
                                                               random.uniform(0.5, 1.5) *
                                                               static_cast<double>(burst_jobs) / static_cast<double>(bursts))));
      const std::int64_t start = draw_time();
      const int owner = static_cast<int>(pick(owner_cumulative, random.uniform()));
      for (std::int64_t k = 0; k < size; ++k) {
        const std::int64_t t = std::min(w.end_ms - 1, start + static_cast<std::int64_t>(random.uniform() * 60000));
        w.jobs.push_back(SimJob{t, owner});
      }
      left -= size;
    }
  }
  std::stable_sort(w.jobs.begin(), w.jobs.end(),
                   [](const SimJob& a, const SimJob& b) { return a.arrival_ms < b.arrival_ms; });

  // The account's other instances: half another workload, half runners of another environment.
  const auto others = static_cast<std::int64_t>(std::llround(
      static_cast<double>(total_jobs) * options.non_runner_share / std::max(1e-9, 1.0 - options.non_runner_share)));
  for (std::int64_t k = 0; k < others; ++k) {
    SimOtherInstance other;
    other.launch_ms = draw_time();
    other.lifetime_ms = static_cast<std::int64_t>(std::min(12.0 * 3600, random.lognormal(3600, 1.0)) * 1000);
    if (k % 2 == 0) {
      other.tags = Tags{{"Name", "build-cache-" + std::to_string(k)}, {"team", "platform"}};
    } else {
      const SimOwner& owner = w.owners[pick(owner_cumulative, random.uniform())];
      other.tags = Tags{{std::string(kTagApplication), std::string(kRunnerApplication)},
                        {std::string(kTagEnvironment), options.environment + "-staging"},
                        {std::string(kTagType), owner.key.type},
                        {std::string(kTagOwner), owner.key.owner}};
    }
    w.others.push_back(std::move(other));
  }
  std::stable_sort(w.others.begin(), w.others.end(),
                   [](const SimOtherInstance& a, const SimOtherInstance& b) { return a.launch_ms < b.launch_ms; });
  return w;
}

}  // namespace rcc::sim
