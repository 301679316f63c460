#!/usr/bin/env bash
# Installs a build into a fresh prefix, then configures, builds and runs tests/consumer against that prefix
# alone, as a C++ scale-up would: find_package(runner-count-cache CONFIG) and the public API.
# Usage: consumer_test.sh <build dir> <work dir> [cmake arguments for the consumer...]
set -euo pipefail
build=$1 work=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
# Nothing but the public headers is installed.
extra=$(cd "$work/prefix/include" && find . -type f ! -path './rcc/*.h')
if [ -n "$extra" ]; then
  echo "FAIL: installed headers outside include/rcc: $extra"
  exit 1
fi
cmake -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" "$@"
cmake --build "$work/build"
"$work/build/rcc_consumer"
