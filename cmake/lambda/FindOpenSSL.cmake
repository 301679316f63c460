# Package build only (see cmake/LambdaPackage.cmake): OpenSSL linked statically (libssl.a, libcrypto.a) from
# RCC_LAMBDA_LIBDIR, headers from RCC_LAMBDA_INCLUDEDIR or the default include path.
if(NOT TARGET OpenSSL::Crypto)
  add_library(OpenSSL::Crypto STATIC IMPORTED)
  set_target_properties(OpenSSL::Crypto PROPERTIES
    IMPORTED_LOCATION "${RCC_LAMBDA_LIBDIR}/libcrypto.a"
    INTERFACE_LINK_LIBRARIES "${CMAKE_DL_LIBS};pthread")
  add_library(OpenSSL::SSL STATIC IMPORTED)
  set_target_properties(OpenSSL::SSL PROPERTIES
    IMPORTED_LOCATION "${RCC_LAMBDA_LIBDIR}/libssl.a"
    INTERFACE_LINK_LIBRARIES OpenSSL::Crypto)
  if(RCC_LAMBDA_INCLUDEDIR)
    set_target_properties(OpenSSL::Crypto PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${RCC_LAMBDA_INCLUDEDIR}")
    set_target_properties(OpenSSL::SSL PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${RCC_LAMBDA_INCLUDEDIR}")
  endif()
endif()
set(OPENSSL_FOUND TRUE)
set(OpenSSL_FOUND TRUE)
set(OPENSSL_VERSION 3.0.0)
set(OPENSSL_SSL_LIBRARY "${RCC_LAMBDA_LIBDIR}/libssl.a")
set(OPENSSL_CRYPTO_LIBRARY "${RCC_LAMBDA_LIBDIR}/libcrypto.a")
set(OPENSSL_LIBRARIES "${OPENSSL_SSL_LIBRARY};${OPENSSL_CRYPTO_LIBRARY}")
