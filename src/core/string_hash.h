// A transparent hash for unordered containers keyed by std::string, so find(), contains() and count() take
// a std::string_view without building a std::string. Use with std::equal_to<> (StringMap does).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace rcc {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

// std::string -> V, looked up by anything convertible to std::string_view.
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

}  // namespace rcc
