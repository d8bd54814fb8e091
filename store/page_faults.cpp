#include "store/page_faults.hpp"

#include <cstdint>
#include <vector>

#include <sys/mman.h>

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

void for_each_page_run(const std::byte* p, std::size_t n,
                       const std::function<void(std::size_t, std::size_t, bool)>& fn) {
  if (n == 0)
    return;
  std::vector<unsigned char> resident(n / page_bytes);
  if (::mincore(const_cast<std::byte*>(p), n, resident.data()) != 0) {
    fn(0, n, true);
    return;
  }
  std::size_t start = 0;
  for (std::size_t i = 1; i <= resident.size(); ++i) {
    bool here = resident[start] & 1;
    if (i == resident.size() || static_cast<bool>(resident[i] & 1) != here) {
      fn(start * page_bytes, (i - start) * page_bytes, here);
      start = i;
    }
  }
}

} // namespace troupe::store
