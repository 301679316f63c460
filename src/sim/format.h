// printf-style formatting into a std::string of any length, for the simulator's reports. The format
// attribute makes -Wformat check every call's arguments against its format string.
#pragma once

#include <string>

namespace rcc::sim {

// The text std::printf(fmt, ...) would print, whole (no fixed buffer). "" when the format is invalid.
[[gnu::format(printf, 1, 2)]] std::string format(const char* fmt, ...);

}  // namespace rcc::sim
