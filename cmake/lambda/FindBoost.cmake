# Package build only (see cmake/LambdaPackage.cmake): Boost headers (Beast, Asio) from RCC_LAMBDA_INCLUDEDIR
# or the default include path. The project uses no compiled Boost library.
if(NOT TARGET Boost::headers)
  add_library(Boost::headers INTERFACE IMPORTED)
  if(RCC_LAMBDA_INCLUDEDIR)
    set_target_properties(Boost::headers PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${RCC_LAMBDA_INCLUDEDIR}")
  endif()
  add_library(Boost::boost INTERFACE IMPORTED)
  set_target_properties(Boost::boost PROPERTIES INTERFACE_LINK_LIBRARIES Boost::headers)
endif()
set(Boost_FOUND TRUE)
set(Boost_VERSION 1.74.0)
set(Boost_VERSION_STRING 1.74.0)
