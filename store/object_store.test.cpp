#include "store/object_store.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/test_processes.hpp"
#include "troupe/errors.hpp"

using namespace troupe::store;
using namespace troupe::store::test;
using troupe::encoding;
using troupe::object_id;

namespace {

constexpr std::size_t mib = 1024 * 1024;

// Fills `n` bytes with a pattern that differs per `tag`, so that overlapping
// objects show up as a wrong byte.
void fill(std::byte* p, std::size_t n, std::uint32_t tag) {
  for (std::size_t i = 0; i < n; ++i)
    p[i] = static_cast<std::byte>((tag * 131 + i) & 0xff);
}

bool holds(const std::byte* p, std::size_t n, std::uint32_t tag) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != static_cast<std::byte>((tag * 131 + i) & 0xff))
      return false;
  return true;
}

writable make(object_store& s, std::uint64_t seq, std::size_t size) {
  return s.create(object_id{42, seq}, size, 0x1234, "blob",
                  encoding::caf_binary);
}

// Creates `n` objects tagged `first_tag`, `first_tag + 1`, ... in its own
// view of the segment, keeps them, and checks afterwards that no other
// creation overwrote them. Returns 0 when they are intact.
int create_and_check(const std::string& segment, std::uint32_t first_tag,
                     std::uint32_t n) {
  auto mine = shm_allocator::open(segment);
  object_store s{*mine};
  std::vector<writable> kept;
  for (std::uint32_t i = 0; i < n; ++i) {
    auto w = make(s, first_tag + i, 1 + (i * 7919 + first_tag) % 8192);
    fill(w.data, w.size, first_tag + i);
    kept.push_back(w);
  }
  for (std::uint32_t i = 0; i < n; ++i)
    if (!holds(kept[i].data, kept[i].size, first_tag + i))
      return 1;
  // The counters are the region's, shared by every view of it.
  if (s.stats().live_objects < n)
    return 2;
  return 0;
}

} // namespace

TEST_CASE("a sealed object is readable through its offset with the metadata "
          "it was created with") {
  heap_allocator alloc{mib};
  object_store store{alloc};
  auto w = store.create(object_id{0xabcdef, 7}, 1000, 0xfeedbeef,
                        "std::vector<double>", encoding::raw_array);
  REQUIRE(w.size == 1000);
  CHECK(reinterpret_cast<std::uintptr_t>(w.data) % 64 == 0);
  fill(w.data, w.size, 1);
  CHECK_FALSE(store.sealed(w.offset));
  CHECK_THROWS_AS(store.view(w.offset), std::invalid_argument);
  store.seal(w.offset);
  CHECK(store.sealed(w.offset));
  CHECK_THROWS_AS(store.seal(w.offset), std::logic_error);
  auto r = store.view(w.offset);
  CHECK(r.data == w.data);
  CHECK(r.size == 1000);
  CHECK(r.id == object_id{0xabcdef, 7});
  CHECK(r.type_hash == 0xfeedbeef);
  CHECK(r.type_name == "std::vector<double>");
  CHECK(r.enc == encoding::raw_array);
  CHECK(holds(r.data, r.size, 1));
}

TEST_CASE("unpinning the last pin frees the object's memory") {
  heap_allocator alloc{mib};
  object_store store{alloc};
  auto free_before = store.stats().free_bytes;
  auto w = make(store, 1, 100 * 1024);
  store.seal(w.offset);
  CHECK(store.stats().free_bytes < free_before - 100 * 1024);
  CHECK(store.stats().live_objects == 1);
  CHECK(store.stats().bytes_in_use >= 100 * 1024);
  store.pin(w.offset);
  CHECK(store.pins(w.offset) == 2);
  CHECK_FALSE(store.unpin(w.offset));
  CHECK(store.view(w.offset).size == 100 * 1024);
  CHECK(store.unpin(w.offset));
  CHECK(store.stats().free_bytes == free_before);
  CHECK(store.stats().live_objects == 0);
  CHECK(store.stats().bytes_in_use == 0);
  // A stale offset is now an error, not a read of freed memory.
  CHECK_THROWS_AS(store.view(w.offset), std::invalid_argument);
}

TEST_CASE("an object larger than the store fails with object_store_full "
          "naming the sizes") {
  heap_allocator alloc{mib};
  object_store store{alloc};
  auto expected = "object store full: 2097152 bytes requested, store holds "
                  + std::to_string(alloc.capacity()) + " bytes, "
                  + std::to_string(store.stats().free_bytes) + " free";
  CHECK_THROWS_WITH_AS(make(store, 1, 2 * mib), expected.c_str(),
                       troupe::object_store_full);
  // Sizes near the limit of size_t must not overflow into a small request.
  CHECK_THROWS_AS(make(store, 2, std::numeric_limits<std::size_t>::max()),
                  troupe::object_store_full);
  // Just under the capacity still fails: headers and bookkeeping need room.
  CHECK_THROWS_AS(make(store, 3, alloc.capacity() - 16),
                  troupe::object_store_full);
  CHECK(store.stats().live_objects == 0);
}

TEST_CASE("filling the store then freeing makes room again") {
  heap_allocator alloc{4 * mib};
  object_store store{alloc};
  std::vector<std::uint64_t> offsets;
  try {
    for (std::uint64_t i = 0;; ++i)
      offsets.push_back(make(store, i, 64 * 1024).offset);
  } catch (const troupe::object_store_full&) {
  }
  REQUIRE(offsets.size() > 50);
  CHECK(store.stats().live_objects == offsets.size());
  CHECK_THROWS_AS(make(store, 999, 64 * 1024), troupe::object_store_full);
  for (auto off : offsets)
    CHECK(store.unpin(off));
  // Freed neighbours coalesce: one object of most of the store fits again.
  auto big = make(store, 1000, 3 * mib);
  CHECK(big.size == 3 * mib);
  CHECK(store.unpin(big.offset));
  for (std::uint64_t i = 0; i < offsets.size(); ++i)
    CHECK_NOTHROW(make(store, i, 64 * 1024));
}

TEST_CASE("a zero-size object can be created, sealed, read and freed") {
  heap_allocator alloc{mib};
  object_store store{alloc};
  auto w = store.create(object_id{1, 1}, 0, 5, "std::monostate",
                        encoding::caf_binary);
  CHECK(w.size == 0);
  store.seal(w.offset);
  auto r = store.view(w.offset);
  CHECK(r.size == 0);
  CHECK(r.type_name == "std::monostate");
  CHECK(store.unpin(w.offset));
}

TEST_CASE("a malformed offset is rejected with invalid_argument, not a crash") {
  heap_allocator alloc{mib};
  object_store store{alloc};
  auto a = make(store, 1, 4096);
  store.seal(a.offset);
  auto b = make(store, 2, 4096);
  std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t cap = alloc.capacity();
  for (auto bad : {std::uint64_t{0}, a.offset + 1, a.offset + 64, cap,
                   max & ~std::uint64_t{63}, max}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(store.view(bad), std::invalid_argument);
    CHECK_THROWS_AS(store.pin(bad), std::invalid_argument);
  }
  // Forged headers inside b's data (64-byte aligned, so they pass the first
  // checks): one with impossible sizes, one whose metadata is garbage.
  auto* base = alloc.base();
  std::memcpy(b.data, base + a.offset, 32);
  std::uint64_t huge = max / 2;
  std::memcpy(b.data + 16, &huge, sizeof(huge));
  auto forged = static_cast<std::uint64_t>(b.data - base);
  CHECK_THROWS_WITH_AS(store.view(forged), doctest::Contains("sizes"),
                       std::invalid_argument);
  std::memcpy(b.data, base + a.offset, object_store::header_size);
  std::memset(b.data + object_store::header_size, 0xff, 200);
  CHECK_THROWS_WITH_AS(store.view(forged), doctest::Contains("metadata"),
                       std::invalid_argument);
}

TEST_CASE("a second process mapping the segment sees an object created by "
          "the first") {
  segment_guard seg{"troupe_store_test_"};
  auto alloc = shm_allocator::create(seg.name, 8 * mib);
  object_store store{*alloc};
  auto w = store.create(object_id{77, 3}, 3 * mib, 99, "std::string",
                        encoding::caf_binary);
  CHECK(reinterpret_cast<std::uintptr_t>(w.data) % 4096 == 0);
  fill(w.data, w.size, 5);
  store.seal(w.offset);
  auto rc = wait_status(spawn([&] {
    auto other = shm_allocator::open(seg.name);
    object_store view_store{*other};
    auto r = view_store.view(w.offset);
    if (r.id != object_id{77, 3} || r.type_name != "std::string")
      return 1;
    if (r.size != 3 * mib || !holds(r.data, r.size, 5))
      return 2;
    // The child's pin and unpin make it a holder, then not.
    view_store.pin(w.offset);
    return view_store.unpin(w.offset) ? 3 : 0;
  }));
  CHECK(rc == 0);
  CHECK(store.pins(w.offset) == 1);
  CHECK(store.unpin(w.offset));
  CHECK_THROWS_AS(shm_allocator::open(seg.name + "_missing"),
                  std::runtime_error);
}

TEST_CASE("two processes creating at once in one segment never overlap") {
  segment_guard seg{"troupe_store_test_"};
  auto alloc = shm_allocator::create(seg.name, 16 * mib);
  object_store store{*alloc};
  constexpr std::uint32_t n = 400;
  auto child = spawn([&] { return create_and_check(seg.name, 0, n); });
  auto parent_rc = create_and_check(seg.name, n, n);
  CHECK(wait_status(child) == 0);
  CHECK(parent_rc == 0);
  // Each view gave its objects back when it went (the child's by its
  // destructor too: it returned before _exit).
  CHECK(store.stats().live_objects == 0);
  CHECK(store.stats().processes == 1);
}

TEST_CASE("concurrent creates from two threads never hand out overlapping "
          "memory") {
  for (std::uint32_t threads : {1u, 2u, 4u}) {
    CAPTURE(threads);
    heap_allocator alloc{32 * mib};
    object_store store{alloc};
    std::vector<std::vector<std::pair<writable, std::uint32_t>>> kept(threads);
    std::vector<std::thread> pool;
    for (std::uint32_t t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (std::uint32_t i = 0; i < 500; ++i) {
          auto tag = t * 1000 + i;
          auto w = make(store, tag, 1 + (i * 7919 + t * 104729) % 16384);
          fill(w.data, w.size, tag);
          // Free every third object at once, so frees race with creates.
          if (i % 3 == 0)
            store.unpin(w.offset);
          else
            kept[t].emplace_back(w, tag);
        }
      });
    for (auto& th : pool)
      th.join();
    std::vector<std::pair<const std::byte*, const std::byte*>> ranges;
    for (auto& per_thread : kept)
      for (auto& [w, tag] : per_thread) {
        CHECK(holds(w.data, w.size, tag));
        ranges.emplace_back(w.data, w.data + w.size);
      }
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i)
      REQUIRE(ranges[i - 1].second <= ranges[i].first);
    CHECK(store.stats().live_objects == ranges.size());
  }
}
