// The cache half of reader_bench: DynamoStore on dynalite. Filled in when the dynalite helper exists.
#pragma once

#include <cstdio>
#include <vector>

#include "rcc/runner.h"

namespace rcc::bench {

inline int bench_cache(int /*repetitions*/, const RunnerKey& /*key*/, const std::vector<int>& /*sizes*/) {
  std::printf("cache: skipped (no dynalite helper yet)\n");
  return 0;
}

}  // namespace rcc::bench
