// The out-of-line members of the HTTP types in rcc/http.h.
#include "rcc/http.h"

#include <algorithm>
#include <cctype>

namespace rcc {

std::string_view HttpResponse::header(std::string_view name) const {
  const auto same = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  };
  for (const auto& [key, value] : headers) {
    if (std::ranges::equal(key, name, same)) return value;
  }
  return {};
}

}  // namespace rcc
