#include "store/page_faults.hpp"

#include <cstdint>

namespace troupe::store {

namespace {

constexpr std::size_t page_bytes = 4096;

// Reads one byte per `stride` and the last; volatile so that the reads
// happen.
void touch(const std::byte* p, std::size_t n, std::size_t stride) noexcept {
  auto* v = reinterpret_cast<const volatile std::byte*>(p);
  for (std::size_t i = 0; i < n; i += stride)
    (void)v[i];
  if (n > 0)
    (void)v[n - 1];
}

} // namespace

void map_for_writing(const std::byte* p, std::size_t n) noexcept {
  // From the start of p's window on, so that each read maps a whole window.
  auto skew = reinterpret_cast<std::uintptr_t>(p) % fault_around_bytes;
  if (skew != 0) {
    touch(p, 1, 1);
    auto first = fault_around_bytes - skew;
    if (first >= n)
      return;
    p += first;
    n -= first;
  }
  touch(p, n, fault_around_bytes);
}

void fault_in(const std::byte* p, std::size_t n) noexcept {
  auto skew = reinterpret_cast<std::uintptr_t>(p) % page_bytes;
  touch(p - skew, n + skew, page_bytes);
}

} // namespace troupe::store
