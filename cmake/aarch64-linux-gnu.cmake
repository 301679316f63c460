# Toolchain file: cross-compile for Linux arm64 with Debian's aarch64-linux-gnu toolchain (g++-aarch64-linux-gnu)
# and the arm64 multiarch libraries in /usr/lib/aarch64-linux-gnu (libssl-dev:arm64, libpugixml-dev:arm64).
#
# The cross compiler's own sysroot (/usr/aarch64-linux-gnu) provides glibc; /usr/include is never added,
# because its glibc headers are the build machine's. Arch-independent header-only libraries reach the
# cross build through cmake/lambda/ (a directory of symlinks, see LambdaPackage.cmake).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The multiarch libc6:arm64 glibc, not the cross sysroot one: see src/lambda/CMakeLists.txt.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /)
