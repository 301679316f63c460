# Sanitizer and fuzzing builds (docs/testing.md). Included by the top-level CMakeLists.txt before any
# target, so the flags reach every library, test and program of the build.
#
#   RCC_SANITIZE=address,undefined   ASan + UBSan (any list -fsanitize takes; "thread" for TSan)
#   RCC_BUILD_FUZZERS=ON             the libFuzzer targets under fuzz/ (Clang only), with coverage
#                                    instrumentation of every library they link
# A finding always fails: UBSan does not recover, so a test or fuzz run that hits one exits non-zero.
set(RCC_SANITIZE "" CACHE STRING
    "Sanitizers for every target, as -fsanitize= takes them (e.g. address,undefined or thread); empty: none")
option(RCC_BUILD_FUZZERS "Build the libFuzzer targets under fuzz/ and register their bounded runs (label fuzz); Clang only" OFF)

if(RCC_SANITIZE)
  add_compile_options(-fsanitize=${RCC_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${RCC_SANITIZE})
endif()

if(RCC_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RCC_BUILD_FUZZERS needs Clang (libFuzzer): configure with CXX=clang++")
  endif()
  # Coverage for the fuzzers' guidance; the libFuzzer driver itself is linked into the fuzz targets only.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
