# Package build only (see cmake/LambdaPackage.cmake): nlohmann_json, header-only, from RCC_LAMBDA_INCLUDEDIR
# (a symlink directory for cross builds) or the compiler's default include path.
if(NOT TARGET nlohmann_json::nlohmann_json)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  if(RCC_LAMBDA_INCLUDEDIR)
    set_target_properties(nlohmann_json::nlohmann_json PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${RCC_LAMBDA_INCLUDEDIR}")
  endif()
endif()
set(nlohmann_json_FOUND TRUE)
set(nlohmann_json_VERSION 3.11.2)
