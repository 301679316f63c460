#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh), builds build/rcc, and runs the main job: `rcc simulate`, a fleet
# day replayed through the real counter, reconcile and reader code on the embedded store, printing the
# summary table. Extra arguments go to `rcc simulate` (e.g. --json, --report DIR, --runners-per-day N).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" --target rcc >> build.log 2>&1 || { tail -n 80 build.log; exit 1; }
build/rcc simulate "$@"
