// sim_bench: wall time of `rcc simulate`'s default day (and of larger fleets) on the embedded store.
// Prints one line per size; the budget for the default day is 10 s on a 2-core machine.
#include <chrono>
#include <cstdio>

#include "core/memory_store.h"
#include "sim/simulation.h"

int main() {
  for (std::int64_t runners : {20000, 50000}) {
    rcc::SimulationOptions options;
    options.runners_per_day = runners;
    rcc::MemoryStore store, register_store;
    const auto start = std::chrono::steady_clock::now();
    auto result = rcc::run_simulation(options, store, register_store);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!result.ok()) {
      std::fprintf(stderr, "sim_bench: %s\n", result.status().to_string().c_str());
      return 1;
    }
    const rcc::StrategyFigures& cache = result->of(rcc::SimStrategy::kCache);
    const rcc::StrategyFigures& registered = result->of(rcc::SimStrategy::kRegister);
    std::printf("runners_per_day=%lld wall_s=%.2f decisions=%lld deliveries=%lld final_error=%lld "
                "register_final_error=%lld\n",
                static_cast<long long>(runners), seconds, static_cast<long long>(cache.decisions),
                static_cast<long long>(cache.counter.deliveries), static_cast<long long>(cache.count_error.final),
                static_cast<long long>(registered.count_error.final));
  }
  return 0;
}
