# The Lambda package targets: `lambda-package` (x86_64) and `lambda-package-arm64` write
# <build>/lambda-package/runner-count-cache-<arch>.zip; nothing is written into the source tree.
# Each runs cmake/lambda/package.cmake, which builds the `bootstrap` target (src/lambda) in a nested,
# statically linked build and zips it. The nested builds are incremental; the targets always run and are
# quick when up to date.
# The nested build runs as many jobs as the outer one (CMAKE_BUILD_PARALLEL_LEVEL, or make's -j).
set(RCC_LAMBDA_PACKAGE_DIR "${PROJECT_BINARY_DIR}/lambda-package")
set(RCC_LAMBDA_ZIP_X86_64 "${RCC_LAMBDA_PACKAGE_DIR}/runner-count-cache-x86_64.zip")
set(RCC_LAMBDA_ZIP_ARM64 "${RCC_LAMBDA_PACKAGE_DIR}/runner-count-cache-arm64.zip")

# rcc_lambda_package(<target> <arch> <zip> [ALL])
function(rcc_lambda_package target arch zip)
  set(all "")
  if("ALL" IN_LIST ARGN)
    set(all ALL)
  endif()
  add_custom_target(${target} ${all}
    COMMAND "${CMAKE_COMMAND}" -DARCH=${arch} "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
            "-DWORK_DIR=${RCC_LAMBDA_PACKAGE_DIR}/${arch}" "-DZIP=${zip}"
            "-DGENERATOR=${CMAKE_GENERATOR}" -P "${PROJECT_SOURCE_DIR}/cmake/lambda/package.cmake"
    BYPRODUCTS "${zip}"
    USES_TERMINAL  # one nested build at a time (Ninja's console pool)
    COMMENT "Packaging bootstrap for ${arch}")
endfunction()
