// arc4random for the packaged bootstrap, which must load on glibc 2.34 (Amazon Linux 2023).
//
// Debian bookworm's static libstdc++ (random.o, std::random_device) calls arc4random, which glibc added in
// 2.36; linking glibc's would require GLIBC_2.36 at load time. This definition, linked into the package
// build only, is found first and draws from getrandom(2) (GLIBC_2.25).
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>

#include <cerrno>

extern "C" uint32_t arc4random(void) noexcept {
  uint32_t value = 0;
  for (;;) {
    const ssize_t n = getrandom(&value, sizeof value, 0);
    if (n == static_cast<ssize_t>(sizeof value)) return value;
    if (n < 0 && errno != EINTR) abort();  // no entropy source at all: nothing safe to return
  }
}
