#include "sim/format.h"

#include <cstdarg>
#include <cstdio>

namespace rcc::sim {

std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list measure;
  va_copy(measure, args);
  const int size = std::vsnprintf(nullptr, 0, fmt, measure);
  va_end(measure);
  std::string out;
  if (size > 0) {
    out.resize(static_cast<std::size_t>(size));
    // Writes size characters and the terminating NUL, which lands on std::string's own terminator.
    std::vsnprintf(out.data(), out.size() + 1, fmt, args);
  }
  va_end(args);
  return out;
}

}  // namespace rcc::sim
