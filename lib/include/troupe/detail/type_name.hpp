#pragma once

#include <cstdint>
#include <string_view>

namespace troupe::detail {

/// Returns the readable name of `T` as the compiler spells it, e.g.
/// `std::vector<double>`. Used in error messages and as the type identity of
/// stored values (every process of a job runs the same executable).
template <class T>
constexpr std::string_view type_name() noexcept {
  std::string_view p = __PRETTY_FUNCTION__;
  auto first = p.find("T = ") + 4;
  auto last = p.find_first_of(";]", first);
  return p.substr(first, last - first);
}

/// Returns the 64-bit FNV-1a hash of `s`, salted.
constexpr std::uint64_t fnv1a(std::string_view s,
                              std::uint64_t h = 0xcbf29ce484222325ULL) noexcept {
  for (char c : s)
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

} // namespace troupe::detail
