#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh), builds build/rcc, and runs the main job: a fleet trace replayed
# through the counter on the embedded store. Extra arguments go to the command.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" --target rcc >> build.log 2>&1 || { tail -n 80 build.log; exit 1; }
build/rcc replay --environment prod --inventory examples/fleet-trace/inventory.json \
  --events examples/fleet-trace/events.jsonl "$@"
