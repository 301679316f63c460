#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh), then builds and runs the test legs (docs/testing.md says what each
# costs and why CI runs the first two):
#   main      build-test/: GCC 12, -Og -g1, AddressSanitizer + UndefinedBehaviorSanitizer, everything: every
#             CTest test runs under the sanitizers; the Lambda packages are built as they ship (nested
#             builds, -Os, no sanitizers) and their own tests run the packaged bootstrap.
#   fuzz      build-asan/: Clang with ASan + UBSan and libFuzzer coverage, only the libFuzzer targets and
#             what they link; each target for RCC_FUZZ_SECONDS with a fixed libFuzzer seed, and a replay of
#             its seeds and kept findings (label fuzz).
#   release   build/ (where scripts/demo.sh builds rcc): GCC, RelWithDebInfo, no sanitizers, no benchmarks;
#             every CTest test on the optimised code a user builds.
#   sanitize  build-asan/ in full (no Lambda packages, no benchmarks): every test under Clang's ASan + UBSan.
#   thread    build-tsan/: Clang with ThreadSanitizer; only the tests of code that runs threads ($tsan_tests).
# RCC_TEST_LEGS picks the legs (default "main fuzz": what CI runs). Extra arguments go to ctest in every leg,
# e.g. `scripts/test.sh -L unit` or `RCC_TEST_LEGS=main scripts/test.sh -R sigv4`. Every leg runs even when
# an earlier one fails; the exit status is non-zero when any failed.
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

# build <dir> <targets> <cmake arguments...>: configures <dir> and builds <targets> (space-separated; "all"
# for everything), its output in <dir>.log. Warnings are errors here (RCC_WARNINGS_AS_ERRORS), as in CI.
# Ninja when it is installed, else CMake's default generator; an existing <dir> keeps the generator it was
# made with.
build() {
  local dir=$1 targets
  read -r -a targets <<< "$2"
  shift 2
  local generator=()
  if [ ! -f "$dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
  cmake -S . -B "$dir" "${generator[@]+"${generator[@]}"}" "${launcher[@]+"${launcher[@]}"}" \
    -DRCC_WARNINGS_AS_ERRORS=ON -DRCC_BUILD_TESTS=ON "$@" > "$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
  cmake --build "$dir" -j"$jobs" --target "${targets[@]}" >> "$dir.log" 2>&1 || { tail -n 80 "$dir.log"; return 1; }
}
# -Og -g1: GCC's sanitized build at -O2 -g compiles 2.5-3.7 times slower than without sanitizers; at -Og
# with line tables it costs what the unsanitized RelWithDebInfo build does, and reports keep file:line.
main_flags=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-Og -g1" -DRCC_SANITIZE=address,undefined
            -DRCC_BUILD_BENCH=ON)
asan_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRCC_SANITIZE=address,undefined -DRCC_BUILD_FUZZERS=ON
            -DRCC_LAMBDA_PACKAGES=OFF -DRCC_BUILD_BENCH=OFF)
# The tests whose code runs threads: the reader's concurrent reads, slot deciders in threads, the HTTP client
# against threaded test servers, the Runtime API and EC2 test servers, the simulator's fibers, the Env.
tsan_tests=(app_reader_test app_reader_integration_test app_slots_test app_slots_integration_test
            aws_http_client_test core_env_test lambda_runtime_server_test testing_ec2_server_test
            sim_fiber_test sim_simulation_test)

# A sanitizer finding stops the process with a report; leaks are findings too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

failed=()
for leg in ${RCC_TEST_LEGS:-main fuzz}; do
  start=$SECONDS
  dir=build-asan
  selection=()
  case $leg in
    main)
      dir=build-test
      build build-test all "${main_flags[@]}" || { failed+=("$leg (build)"); continue; }
      ;;
    fuzz)
      selection=(-L fuzz)
      CXX=clang++ build build-asan fuzzers "${asan_flags[@]}" || { failed+=("$leg (build)"); continue; }
      ;;
    release)
      dir=build
      # RCC_SANITIZE empty: build/ may have been configured by hand with sanitizers, and the cache keeps them.
      build build all -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRCC_SANITIZE= -DRCC_BUILD_BENCH=OFF || { failed+=("$leg (build)"); continue; }
      ;;
    sanitize)
      CXX=clang++ build build-asan all "${asan_flags[@]}" || { failed+=("$leg (build)"); continue; }
      ;;
    thread)
      dir=build-tsan
      selection=(-R "^($(IFS='|'; echo "${tsan_tests[*]}"))\$")
      CXX=clang++ build build-tsan "${tsan_tests[*]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRCC_SANITIZE=thread \
        -DRCC_LAMBDA_PACKAGES=OFF -DRCC_BUILD_BENCH=OFF || { failed+=("$leg (build)"); continue; }
      ;;
    *)
      echo "test.sh: unknown leg '$leg' (main, fuzz, release, sanitize, thread)" >&2
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
