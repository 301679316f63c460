# Package build only (see cmake/LambdaPackage.cmake): CLI11, header-only, from RCC_LAMBDA_INCLUDEDIR or the
# default include path.
if(NOT TARGET CLI11::CLI11)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  if(RCC_LAMBDA_INCLUDEDIR)
    set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${RCC_LAMBDA_INCLUDEDIR}")
  endif()
endif()
set(CLI11_FOUND TRUE)
