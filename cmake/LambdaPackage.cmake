# The Lambda package targets: `lambda-package` (x86_64) and `lambda-package-arm64` write
# dist/runner-count-cache-<arch>.zip at the repository root (and the same zip in <build>/lambda-package/).
# Each runs cmake/lambda/package.cmake, which builds `rcc` in a nested, statically linked build and zips it
# as `bootstrap`. The nested builds are incremental; the targets always run and are quick when up to date.
set(RCC_LAMBDA_PACKAGE_DIR "${CMAKE_BINARY_DIR}/lambda-package")
set(RCC_LAMBDA_ZIP_X86_64 "${RCC_LAMBDA_PACKAGE_DIR}/runner-count-cache-x86_64.zip")
set(RCC_LAMBDA_ZIP_ARM64 "${RCC_LAMBDA_PACKAGE_DIR}/runner-count-cache-arm64.zip")

# rcc_lambda_package(<target> <arch> <zip> [ALL])
function(rcc_lambda_package target arch zip)
  set(all "")
  if("ALL" IN_LIST ARGN)
    set(all ALL)
  endif()
  add_custom_target(${target} ${all}
    COMMAND "${CMAKE_COMMAND}" -DARCH=${arch} "-DSOURCE_DIR=${CMAKE_SOURCE_DIR}"
            "-DWORK_DIR=${RCC_LAMBDA_PACKAGE_DIR}/${arch}" "-DZIP=${zip}" "-DDIST_DIR=${CMAKE_SOURCE_DIR}/dist"
            "-DGENERATOR=${CMAKE_GENERATOR}" -DJOBS=2 -P "${CMAKE_SOURCE_DIR}/cmake/lambda/package.cmake"
    BYPRODUCTS "${zip}"
    USES_TERMINAL  # one nested build at a time (Ninja's console pool), so -j2 stays -j2
    COMMENT "Packaging bootstrap for ${arch}")
endfunction()
