#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh), then builds and runs the test legs (docs/testing.md):
#   main      build/: GCC, everything (Lambda packages, benchmarks); every CTest test.
#   fuzz      build-asan/: Clang with AddressSanitizer + UndefinedBehaviorSanitizer; only the libFuzzer
#             targets and what they link; each fuzz target for RCC_FUZZ_SECONDS and its seeds (label fuzz).
#   sanitize  build-asan/ in full (no Lambda packages, no benchmarks): every test under the sanitizers, fuzz
#             targets included.
# RCC_TEST_LEGS picks the legs (default "main"; "main fuzz" or "main sanitize" add the sanitizer builds,
# see docs/testing.md for why they are not the default yet). Extra arguments go to ctest in every leg, e.g.
# `scripts/test.sh -L unit` or `RCC_TEST_LEGS=main scripts/test.sh -R sigv4`. Every leg runs even when an
# earlier one fails; the exit status is non-zero when any failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh

jobs=$(nproc)
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$root"  # paths relative to the checkout: a fresh clone elsewhere hits the cache
fi

# The nested Lambda package builds follow the same job count (cmake/lambda/package.cmake).
export CMAKE_BUILD_PARALLEL_LEVEL=$jobs

# build <dir> <target> <cmake arguments...>: configures <dir> and builds <target> ("all" for everything), its
# output in <dir>.log. Warnings are errors here (RCC_WARNINGS_AS_ERRORS), as in CI. Ninja when it is
# installed, else CMake's default generator; an existing <dir> keeps the generator it was made with.
build() {
  local dir=$1 target=$2
  shift 2
  local generator=()
  if [ ! -f "$dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
  cmake -S . -B "$dir" "${generator[@]+"${generator[@]}"}" "${launcher[@]+"${launcher[@]}"}" \
    -DRCC_WARNINGS_AS_ERRORS=ON -DRCC_BUILD_TESTS=ON "$@" > "$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
  cmake --build "$dir" -j"$jobs" --target "$target" >> "$dir.log" 2>&1 || { tail -n 80 "$dir.log"; return 1; }
}
asan_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRCC_SANITIZE=address,undefined -DRCC_BUILD_FUZZERS=ON
            -DRCC_LAMBDA_PACKAGES=OFF -DRCC_BUILD_BENCH=OFF)

# A sanitizer finding stops the process with a report; leaks are findings too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for leg in ${RCC_TEST_LEGS:-main}; do
  start=$SECONDS
  dir=build-asan
  selection=()
  case $leg in
    main)
      dir=build
      build build all -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRCC_BUILD_BENCH=ON || { failed+=("$leg (build)"); continue; }
      ;;
    fuzz)
      selection=(-L fuzz)
      CXX=clang++ build build-asan fuzzers "${asan_flags[@]}" || { failed+=("$leg (build)"); continue; }
      ;;
    sanitize)
      CXX=clang++ build build-asan all "${asan_flags[@]}" || { failed+=("$leg (build)"); continue; }
      ;;
    *)
      echo "test.sh: unknown leg '$leg' (main, fuzz, sanitize)" >&2
      exit 2
      ;;
  esac
  built=$SECONDS
  echo "== $leg: built $dir in $((built - start)) s; running ctest"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" "${selection[@]}" "$@") || failed+=("$leg")
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: failed: ${failed[*]}" >&2
  exit 1
fi
