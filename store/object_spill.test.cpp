// Spilling: objects leave the store's memory for files and come back when
// read, keeping their offsets.

#include "store/object_store.hpp"

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "store/test_processes.hpp"
#include "troupe/errors.hpp"

using namespace troupe::store;
using namespace troupe::store::test;
using troupe::encoding;
using troupe::object_id;

namespace {

constexpr std::size_t mib = 1024 * 1024;

/// A folder of the test's own.
struct spill_folder : temp_folder {
  spill_folder() : temp_folder("troupe_spill_test_") {}
};

void fill(std::byte* p, std::size_t n, std::uint32_t tag) {
  for (std::size_t i = 0; i < n; i += 512)
    p[i] = static_cast<std::byte>((tag * 131 + i / 512) & 0xff);
}

bool holds(const std::byte* p, std::size_t n, std::uint32_t tag) {
  for (std::size_t i = 0; i < n; i += 512)
    if (p[i] != static_cast<std::byte>((tag * 131 + i / 512) & 0xff))
      return false;
  return true;
}

std::uint64_t make_sealed(object_store& s, std::uint32_t tag, std::size_t size) {
  auto w = s.create(object_id{9, tag}, size, 1, "blob", encoding::caf_binary);
  fill(w.data, w.size, tag);
  s.seal(w.offset);
  return w.offset;
}

/// Creates an object, spilling others when the store is full.
std::uint64_t make_spilling(object_store& s, std::uint32_t tag, std::size_t size) {
  for (;;) {
    try {
      return make_sealed(s, tag, size);
    } catch (const troupe::object_store_full&) {
      auto out = s.spill(size + 2 * mib);
      REQUIRE_MESSAGE(out.objects > 0, "nothing to spill: " << out.error);
    }
  }
}

/// Reads an object back, spilling others when there is no room for it.
readable read_spilling(object_store& s, std::uint64_t offset, std::size_t size) {
  for (;;) {
    try {
      return s.read(offset);
    } catch (const troupe::object_store_full&) {
      auto out = s.spill(size + 2 * mib, [&](std::uint64_t o) { return o == offset; });
      REQUIRE_MESSAGE(out.objects > 0, "nothing to spill: " << out.error);
    }
  }
}

} // namespace

TEST_CASE("a spilled object keeps its offset, gives its memory back and comes "
          "back whole when read") {
  spill_folder dir;
  heap_allocator alloc{8 * mib};
  object_store store{alloc};
  CHECK(store.spill(mib).error.find("off") != std::string::npos);
  store.set_spill_dir(dir.path);
  auto a = make_sealed(store, 1, 2 * mib);
  auto b = make_sealed(store, 2, 2 * mib);
  auto free_before = store.stats().free_bytes;
  auto out = store.spill(free_before + 3 * mib);
  CHECK(out.error.empty());
  CHECK(out.objects == 2);
  CHECK(out.freed >= 4 * mib);
  CHECK(store.stats().free_bytes >= free_before + 4 * mib);
  CHECK(store.stats().spilled_objects == 2);
  CHECK(store.stats().spilled_bytes == 4 * mib);
  CHECK(dir.files() == 2);
  CHECK_THROWS_AS(store.view(a), std::invalid_argument); // not in memory
  auto r = store.read(a);
  CHECK(r.size == 2 * mib);
  CHECK(r.id == object_id{9, 1});
  CHECK(holds(r.data, r.size, 1));
  CHECK(store.stats().spilled_objects == 1);
  // Read: not spilled again while it is.
  CHECK(store.spill(alloc.capacity()).objects == 0);
  store.end_read(a);
  CHECK(store.spill(alloc.capacity()).objects == 1); // its file is written already
  CHECK(store.unpin(a));
  CHECK(store.unpin(b));
  CHECK(dir.files() == 0);
  auto s = store.stats();
  CHECK(s.live_objects == 0);
  CHECK(s.bytes_in_use == 0);
  CHECK(s.spilled_objects == 0);
  CHECK(s.spilled_bytes == 0);
  CHECK_THROWS_AS(store.end_read(a), std::logic_error);
}

TEST_CASE("a store takes eight times its size through spilling and gives "
          "every object back correct") {
  spill_folder dir;
  heap_allocator alloc{16 * mib};
  object_store store{alloc};
  store.set_spill_dir(dir.path);
  auto free_before = store.stats().free_bytes;
  std::vector<std::uint64_t> offsets;
  for (std::uint32_t i = 0; i < 128; ++i) // 128 MiB
    offsets.push_back(make_spilling(store, i, mib));
  CHECK(store.stats().spilled_objects > 100);
  for (std::uint32_t i = 0; i < offsets.size(); ++i) {
    auto r = read_spilling(store, offsets[i], mib);
    CHECK(holds(r.data, r.size, i));
    store.end_read(offsets[i]);
  }
  for (auto o : offsets)
    CHECK(store.unpin(o));
  CHECK(dir.files() == 0);
  CHECK(store.stats().free_bytes == free_before);
  CHECK(store.stats().spilled_bytes == 0);
}

TEST_CASE("an object spilled by one process is read back by another") {
  spill_folder dir;
  segment_guard seg{"troupe_spill_test_"};
  auto alloc = shm_allocator::create(seg.name, 8 * mib);
  object_store store{*alloc};
  store.set_spill_dir(dir.path);
  auto a = make_sealed(store, 7, 3 * mib);
  REQUIRE(store.spill(alloc->capacity()).objects == 1);
  auto child = spawn([&] {
    auto other = shm_allocator::open(seg.name);
    object_store s{*other};
    auto r = s.read(a);
    bool ok = r.size == 3 * mib && holds(r.data, r.size, 7);
    s.end_read(a);
    return ok ? 0 : 1;
  });
  CHECK(wait_status(child) == 0);
  // Read back by the child: in memory now, until spilled again.
  CHECK(store.stats().spilled_objects == 0);
  CHECK(holds(store.view(a).data, 3 * mib, 7));
  CHECK(store.unpin(a));
}

TEST_CASE("a spill that cannot write leaves the object in memory and says why") {
  heap_allocator alloc{8 * mib};
  object_store store{alloc};
  store.set_spill_dir("/nonexistent/troupe-spill");
  auto a = make_sealed(store, 3, mib);
  auto out = store.spill(alloc.capacity());
  CHECK(out.objects == 0);
  CHECK(out.error.find("cannot write /nonexistent/troupe-spill/") == 0);
  CHECK(holds(store.view(a).data, mib, 3));
  CHECK(store.stats().spilled_objects == 0);
  CHECK(store.unpin(a));
}
