#include "store/region_heap.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <random>
#include <vector>

#include <doctest/doctest.h>

using troupe::store::region_heap;

namespace {

// A region with the heap's area at a 64-byte aligned offset, as the store
// lays it out (the control block comes first).
struct region {
  static constexpr std::uint64_t area = 4096;
  std::vector<std::byte> bytes;
  explicit region(std::size_t size) : bytes(size + area + 64) {}
  std::byte* base() {
    auto p = reinterpret_cast<std::uintptr_t>(bytes.data());
    return reinterpret_cast<std::byte*>((p + 63) & ~std::uintptr_t{63});
  }
  region_heap format(std::size_t size) {
    region_heap::format(base(), area, size);
    return region_heap{base(), area};
  }
};

} // namespace

TEST_CASE("allocations are aligned, disjoint, and all free space comes back "
          "as one block") {
  region r{1 << 20};
  auto heap = r.format(1 << 20);
  auto empty = heap.free_bytes();
  CHECK(empty == heap.size());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> live;
  for (std::uint64_t bytes : {1, 63, 64, 65, 1000, 4096, 100000}) {
    auto a = heap.allocate(bytes, 64);
    REQUIRE(a != 0);
    CHECK(a % 64 == 0);
    CHECK(heap.allocated(a));
    live.emplace_back(a, bytes);
  }
  auto page = heap.allocate(5000, 4096);
  REQUIRE(page != 0);
  CHECK(page % 4096 == 0);
  live.emplace_back(page, 5000);
  std::sort(live.begin(), live.end());
  for (std::size_t i = 1; i < live.size(); ++i)
    CHECK(live[i - 1].first + live[i - 1].second <= live[i].first);
  std::size_t walked = 0;
  heap.for_each_allocated([&](std::uint64_t at, std::uint64_t bytes) {
    CHECK(std::any_of(live.begin(), live.end(), [&](auto& l) {
      return l.first == at && l.second <= bytes;
    }));
    ++walked;
  });
  CHECK(walked == live.size());
  for (auto& [at, bytes] : live)
    heap.deallocate(at);
  CHECK(heap.free_bytes() == empty);
  // Coalesced: one block as large as the heap allows fits again.
  CHECK(heap.allocate(empty - 64, 64) != 0);
}

TEST_CASE("a bad offset is refused, and a block is freed once") {
  region r{1 << 16};
  auto heap = r.format(1 << 16);
  auto a = heap.allocate(100, 64);
  CHECK_THROWS_AS(heap.deallocate(a + 64), std::invalid_argument);
  CHECK_THROWS_AS(heap.deallocate(0), std::invalid_argument);
  heap.deallocate(a);
  CHECK_THROWS_AS(heap.deallocate(a), std::invalid_argument);
  CHECK(heap.allocate(1 << 20, 64) == 0); // larger than the heap: none
}

TEST_CASE("a block of exactly the size asked for is found among larger "
          "free blocks of its class") {
  // 100 KiB, 101 KiB and 102 KiB free blocks share a size class; a request
  // of 101 KiB must take one of them, not fail for want of a larger class.
  region r{1 << 20};
  auto heap = r.format(330 * 1024);
  std::vector<std::uint64_t> blocks;
  for (std::uint64_t kib : {100, 1, 101, 1, 102})
    blocks.push_back(heap.allocate(kib * 1024, 64));
  for (auto b : blocks)
    REQUIRE(b != 0);
  auto rest = heap.allocate(heap.free_bytes() - 64, 64); // nothing else free
  REQUIRE(rest != 0);
  heap.deallocate(blocks[0]);
  heap.deallocate(blocks[2]);
  heap.deallocate(blocks[4]);
  CHECK(heap.allocate(101 * 1024, 64) != 0);
  CHECK(heap.allocate(102 * 1024, 64) != 0);
}

TEST_CASE("rebuild makes the free lists again from the chain of blocks") {
  auto seed = std::random_device{}();
  MESSAGE("seed " << seed);
  std::mt19937 rng{seed};
  region r{4 << 20};
  auto heap = r.format(4 << 20);
  std::map<std::uint64_t, std::uint64_t> live;
  for (int i = 0; i < 2000; ++i) {
    if (!live.empty() && rng() % 3 == 0) {
      auto it = std::next(live.begin(), static_cast<long>(rng() % live.size()));
      heap.deallocate(it->first);
      live.erase(it);
    } else if (auto a = heap.allocate(1 + rng() % 20000, rng() % 4 ? 64 : 4096); a != 0) {
      live.emplace(a, 0);
    }
    if (i % 500 == 0) {
      auto free = heap.free_bytes();
      heap.rebuild(); // as after a crash: lists, bitmaps and counts made again
      CHECK(heap.free_bytes() == free);
    }
  }
  std::size_t walked = 0;
  heap.for_each_allocated([&](std::uint64_t at, std::uint64_t) {
    CHECK(live.count(at) == 1);
    ++walked;
  });
  CHECK(walked == live.size());
  for (auto& [at, unused] : live)
    heap.deallocate(at);
  heap.rebuild();
  CHECK(heap.free_bytes() == heap.size());
}

TEST_CASE("shrinking a block gives its end back, merged with free space after it") {
  region r{1 << 20};
  auto heap = r.format(1 << 20);
  auto empty = heap.free_bytes();
  auto a = heap.allocate(100000, 64);
  auto b = heap.allocate(1000, 64);
  REQUIRE(a != 0);
  REQUIRE(b != 0);
  std::memset(r.base() + a, 7, 100000);
  auto before = heap.free_bytes();
  CHECK(heap.shrink(a, 300) > 90000);
  CHECK(heap.free_bytes() > before + 90000);
  CHECK(std::to_integer<int>(r.base()[a + 299]) == 7); // what is kept stays
  CHECK(heap.shrink(a, 300) == 0);                     // nothing more to give
  heap.deallocate(b); // merges with the tail before it and the space after
  auto big = heap.allocate(empty - 1024, 64); // fits only in one merged block
  REQUIRE(big != 0);
  heap.deallocate(big);
  heap.deallocate(a);
  CHECK(heap.free_bytes() == empty);
  CHECK(heap.allocate(empty - 64, 64) != 0);
  CHECK_THROWS_AS(heap.shrink(a + 64, 10), std::invalid_argument);
}
