#include "store/prefaulter.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store/allocator.hpp"
#include "store/object_store.hpp"
#include "store/page_faults.hpp"

using namespace troupe::store;

namespace {

constexpr std::size_t mib = 1024 * 1024;

struct segment_guard {
  std::string name = "troupe_prefault_test_" + std::to_string(::getpid());
  ~segment_guard() { shm_allocator::remove(name); }
};

/// Polls `done` until it holds or 20 s pass; returns whether it held.
template <class F>
bool eventually(F done) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::yield();
  }
  return true;
}

/// Returns how many pages of [p, p + n) are in the segment's page cache and
/// zero-filled or written (what mincore reports of shared memory).
std::size_t resident_pages(const std::byte* p, std::size_t n) {
  std::vector<unsigned char> pages(n / 4096);
  REQUIRE(::mincore(const_cast<std::byte*>(p), n, pages.data()) == 0);
  std::size_t count = 0;
  for (auto v : pages)
    count += v & 1;
  return count;
}

} // namespace

TEST_CASE("a prefaulter keeps the pages up to a distance past the high-water mark "
          "in existence, and follows the mark") {
  segment_guard g;
  auto seg = shm_allocator::create(g.name, 64 * mib);
  std::atomic<std::uint64_t> mark{0};
  prefaulter pages(
      *seg, [&] { return mark.load(); }, 8 * mib, 1 * mib);
  CHECK(pages.target(0) == 8 * mib);
  REQUIRE(eventually([&] { return pages.populated() == 8 * mib; }));
  CHECK(resident_pages(seg->base(), 8 * mib) == 8 * mib / 4096);
  // Never touched: the rest of the segment costs no RAM (but its last page,
  // where the allocator marks the end of the region).
  CHECK(resident_pages(seg->base() + 40 * mib, 23 * mib) == 0);
  mark = 20 * mib; // an object was made up to here: its writer faults it in
  REQUIRE(eventually([&] { return pages.populated() == 28 * mib; }));
  CHECK(resident_pages(seg->base() + 20 * mib, 8 * mib) == 8 * mib / 4096);
  CHECK(resident_pages(seg->base() + 8 * mib, 12 * mib) == 0);
  mark = 64 * mib - 100; // the end of the segment bounds the target
  REQUIRE(eventually([&] { return pages.populated() == 64 * mib; }));
}

TEST_CASE("a prefaulter changes no byte that writers wrote") {
  segment_guard g;
  auto seg = shm_allocator::create(g.name, 16 * mib);
  object_store store(*seg);
  auto w = store.create({1, 1}, 6 * mib, 0, "bytes", troupe::encoding::raw_array);
  for (std::size_t i = 0; i < w.size; ++i)
    w.data[i] = static_cast<std::byte>(i * 7 + 1);
  // Populates from the start, over the object, as if it came after it.
  prefaulter pages(
      *seg, [] { return std::uint64_t{0}; }, 16 * mib, 1 * mib);
  REQUIRE(eventually([&] { return pages.populated() == 16 * mib; }));
  bool same = true;
  for (std::size_t i = 0; i < w.size; ++i)
    same = same && w.data[i] == static_cast<std::byte>(i * 7 + 1);
  CHECK(same);
}

TEST_CASE("a prefaulter stops within a step when it is stopped or destroyed") {
  segment_guard g;
  auto seg = shm_allocator::create(g.name, 256 * mib);
  {
    prefaulter pages(
        *seg, [] { return std::uint64_t{0}; }, 256 * mib, 1 * mib);
    pages.stop();
    auto at = pages.populated();
    CHECK(at <= 256 * mib);
    CHECK(pages.populated() == at); // the thread is gone
  }                                 // destroying a stopped one is fine
  prefaulter running(
      *seg, [] { return std::uint64_t{0}; }, 256 * mib, 1 * mib);
} // destroyed while it works

TEST_CASE("a store's high-water mark is the end of its furthest object, ever") {
  troupe::store::heap_allocator heap(32 * mib);
  object_store store(heap);
  CHECK(store.high_water() == 0);
  auto a = store.create({1, 1}, 2 * mib, 0, "a", troupe::encoding::raw_array);
  auto after_a = store.high_water();
  CHECK(after_a >= a.offset + 2 * mib);
  auto b = store.create({1, 2}, 1000, 0, "b", troupe::encoding::raw_array);
  CHECK(store.high_water() >= std::max<std::uint64_t>(after_a, b.offset + 1000));
  auto before = store.high_water();
  store.unpin(a.offset);
  store.unpin(b.offset);
  CHECK(store.high_water() == before); // freed memory was written: it stays
}

TEST_CASE("a store keeps a quarter of itself ahead, between 64 MiB and 1 GiB") {
  CHECK(prefault_ahead(2048 * mib) == 512 * mib);
  CHECK(prefault_ahead(100 * mib) == 64 * mib);
  CHECK(prefault_ahead(32 * mib) == 32 * mib);
  CHECK(prefault_ahead(16384 * mib) == 1024 * mib);
}

TEST_CASE("the pages of a range are reported as runs that exist and runs that do not") {
  segment_guard g;
  auto seg = shm_allocator::create(g.name, 16 * mib);
  auto* range = seg->base() + 8 * mib; // past the segment's own bookkeeping
  range[4 * 4096] = std::byte{1};
  range[5 * 4096 + 17] = std::byte{1};
  range[20 * 4096 + 4095] = std::byte{1};
  struct run {
    std::size_t at, len;
    bool exists;
    bool operator==(const run&) const = default;
  };
  std::vector<run> runs;
  for_each_page_run(range, 32 * 4096, [&](std::size_t at, std::size_t len, bool exists) {
    runs.push_back({at, len, exists});
  });
  std::vector<run> expected{{0, 4 * 4096, false},
                            {4 * 4096, 2 * 4096, true},
                            {6 * 4096, 14 * 4096, false},
                            {20 * 4096, 4096, true},
                            {21 * 4096, 11 * 4096, false}};
  CHECK(runs == expected);
}

TEST_CASE("a copied-in object lands whole over pages that exist and pages that do not, "
          "and its neighbours keep their bytes") {
  segment_guard g;
  auto seg = shm_allocator::create(g.name, 32 * mib);
  object_store store{*seg};
  // Freed memory keeps its pages: the copy below starts over them.
  auto earlier = store.create({5, 1}, 2 * mib, 0, "bytes", troupe::encoding::raw_array);
  std::memset(earlier.data, 0x5a, earlier.size);
  store.unpin(earlier.offset);
  std::vector<std::byte> src(6 * mib + 123);
  for (std::size_t i = 0; i < src.size(); ++i)
    src[i] = static_cast<std::byte>((i * 7 + i / 4096) & 0xff);
  // Where it will land (the allocator reuses the freed block from its front):
  // partly over pages that exist, partly over pages that never did.
  auto* at = earlier.data;
  auto pages = (src.size() + 4095) / 4096;
  auto before = resident_pages(at, pages * 4096);
  REQUIRE(before > 0);
  REQUIRE(before < pages);
  auto w = store.create_copy({5, 2}, src.data(), src.size(), 0, "bytes",
                             troupe::encoding::raw_array);
  CHECK(w.data == at);
  auto after = store.create({5, 3}, 10000, 0, "bytes", troupe::encoding::raw_array);
  std::memset(after.data, 0x33, after.size);
  store.seal(w.offset);
  auto r = store.view(w.offset);
  REQUIRE(r.size == src.size());
  CHECK(std::memcmp(r.data, src.data(), src.size()) == 0);
  CHECK(resident_pages(at, pages * 4096) == pages);
  bool neighbour_intact = true;
  for (std::size_t i = 0; i < after.size; ++i)
    neighbour_intact = neighbour_intact && after.data[i] == std::byte{0x33};
  CHECK(neighbour_intact);
  // Another mapping of the segment reads the same bytes.
  auto other = shm_allocator::open(g.name);
  CHECK(std::memcmp(other->base() + (w.data - seg->base()), src.data(), src.size()) == 0);
}
