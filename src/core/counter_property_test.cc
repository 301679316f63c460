// The counter's convergence property (core/counter_property.h) on MemoryStore, thousands of seeds.
#include <cstdlib>

#include <gtest/gtest.h>

#include "core/counter_property.h"
#include "core/memory_store.h"

namespace rcc {
namespace {

void run_fleet(std::uint64_t seed) {
  MemoryStore table;
  testing::check_fleet_converges(table, seed);
}

TEST(CounterProperty, RandomFleetsConvergeToTheTruth) {
  const char* one = std::getenv("RCC_PROPERTY_SEED");
  if (one != nullptr) {
    run_fleet(std::strtoull(one, nullptr, 10));
    return;
  }
  const char* fleets_env = std::getenv("RCC_PROPERTY_FLEETS");
  const int fleets = fleets_env ? std::atoi(fleets_env) : 3000;
  for (int seed = 1; seed <= fleets; ++seed) {
    run_fleet(static_cast<std::uint64_t>(seed));
    if (::testing::Test::HasFailure()) {
      std::fprintf(stderr, "failing seed: %d (rerun with RCC_PROPERTY_SEED=%d)\n", seed, seed);
      return;
    }
  }
}

}  // namespace
}  // namespace rcc
