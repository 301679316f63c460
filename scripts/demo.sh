#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh), builds build/rcc, and runs the main job: `rcc simulate`, a fleet
# day replayed through the real counter, reconcile and reader code on the embedded store, printing the
# summary table. Extra arguments go to `rcc simulate` (e.g. --json, --report DIR, --runners-per-day N).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
# Ninja when it is installed, else CMake's default generator; an existing build/ keeps the one it has.
generator=()
# A first configure here leaves the tests and benchmarks out (rcc needs neither GoogleTest nor Google
# Benchmark); scripts/test.sh turns them on.
options=()
if [ ! -f build/CMakeCache.txt ]; then
  options=(-DRCC_BUILD_TESTS=OFF -DRCC_BUILD_BENCH=OFF)
  if command -v ninja >/dev/null; then generator=(-G Ninja); fi
fi
cmake -S . -B build "${generator[@]+"${generator[@]}"}" "${options[@]+"${options[@]}"}" -DCMAKE_BUILD_TYPE=RelWithDebInfo > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" --target rcc >> build.log 2>&1 || { tail -n 80 build.log; exit 1; }
build/rcc simulate "$@"
