// The workload of a simulated window: owners, job arrivals and the account's other instances. Both
// strategies' runs replay the same Workload.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rcc/runner.h"
#include "sim/simulation.h"

namespace rcc::sim {

struct SimOwner {
  RunnerKey key;        // environment, "Org" or "Repo", owner name
  std::string key_str;  // key.str()
  double weight = 0;    // share of the jobs
};

struct SimJob {
  std::int64_t arrival_ms = 0;
  int owner = 0;
};

// An instance of the account that is not a runner of the environment: another workload, or a runner of
// another environment.
struct SimOtherInstance {
  std::int64_t launch_ms = 0;
  std::int64_t lifetime_ms = 0;
  Tags tags;
};

struct Workload {
  std::int64_t end_ms = 0;  // the window's length
  std::vector<SimOwner> owners;
  std::vector<SimJob> jobs;  // by arrival time
  std::vector<SimOtherInstance> others;  // by launch time
};

// The relative job rate at `fraction` of the window (0 = midnight, 0.5 = noon): a working-day curve.
double day_curve(double fraction);

// Draws the workload of `options` (which must be valid) from its seed.
Workload make_workload(const SimulationOptions& options);

// The tags the scale-up puts on a runner of `owner`.
Tags runner_tags(const SimOwner& owner);

}  // namespace rcc::sim
