// Fallback allocation: an object larger than the store lives in a file of
// its own, named by an offset like any other, read by every process.

#include "store/object_store.hpp"

#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <sys/resource.h>

#include "store/test_processes.hpp"
#include "troupe/errors.hpp"

using namespace troupe::store;
using namespace troupe::store::test;
using troupe::encoding;
using troupe::object_id;

namespace {

constexpr std::size_t mib = 1024 * 1024;

/// A folder of the test's own.
struct folder : temp_folder {
  folder() : temp_folder("troupe_fallback_test_") {}
};

std::vector<std::byte> pattern(std::size_t n, std::uint32_t tag) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; i += 4096)
    v[i] = static_cast<std::byte>((tag * 31 + i / 4096) & 0xff);
  v[n - 1] = static_cast<std::byte>(tag);
  return v;
}

bool same(const std::byte* p, const std::vector<std::byte>& v) {
  return std::memcmp(p, v.data(), v.size()) == 0;
}

} // namespace

TEST_CASE("an object three times the store's size lives in a file, is read by "
          "another process and leaves nothing once freed") {
  folder dir;
  segment_guard seg{"troupe_fallback_test_"};
  auto alloc = shm_allocator::create(seg.name, 8 * mib);
  object_store store{*alloc};
  store.set_spill_dir(dir.path);
  auto before = store.stats();
  CHECK_FALSE(store.fits_in_memory(24 * mib));
  CHECK(store.fits_in_memory(mib));
  auto value = pattern(24 * mib, 5);
  auto w = store.create_on_disk(object_id{3, 1}, value.size(), 7, "big", encoding::raw_array,
                                value.data());
  CHECK(w.data == nullptr);
  store.seal(w.offset);
  auto s = store.stats();
  CHECK(s.fallback_objects == 1);
  CHECK(s.fallback_bytes == 24 * mib);
  CHECK(s.live_objects == 1);
  CHECK(s.bytes_in_use < 4096); // its header only
  CHECK(dir.files() == 1);
  // Not spilled (it is on disk already), and read like any other.
  CHECK(store.spill(alloc->capacity()).objects == 0);
  auto child = spawn([&] {
    auto other = shm_allocator::open(seg.name);
    object_store o{*other};
    o.pin(w.offset);
    auto r = o.read(w.offset);
    bool ok = r.size == value.size() && r.type_name == "big" && r.id == object_id{3, 1}
              && same(r.data, value);
    o.end_read(w.offset);
    o.unpin(w.offset);
    return ok ? 0 : 1;
  });
  CHECK(wait_status(child) == 0);
  auto r = store.read(w.offset);
  CHECK(same(r.data, value));
  CHECK_FALSE(store.end_read(w.offset));
  CHECK(store.unpin(w.offset));
  CHECK(dir.files() == 0);
  s = store.stats();
  CHECK(s.fallback_objects == 0);
  CHECK(s.fallback_bytes == 0);
  CHECK(s.live_objects == 0);
  CHECK(s.free_bytes == before.free_bytes);
}

TEST_CASE("a fallback object is written through its mapping and its offset is "
          "refused once freed") {
  folder dir;
  heap_allocator alloc{4 * mib};
  object_store store{alloc};
  store.set_spill_dir(dir.path);
  auto w = store.create_on_disk(object_id{3, 2}, 10 * mib, 7, "big", encoding::caf_binary);
  REQUIRE(w.data != nullptr);
  std::memset(w.data, 0x5a, w.size);
  store.seal(w.offset);
  auto v = store.view(w.offset);
  CHECK(v.data[0] == std::byte{0x5a});
  CHECK(v.data[10 * mib - 1] == std::byte{0x5a});
  CHECK(store.unpin(w.offset));
  CHECK_THROWS_AS(store.view(w.offset), std::invalid_argument);
  CHECK(dir.files() == 0);
}

TEST_CASE("a value too large for the store fails with a named cause when there "
          "is no spill folder or no room on disk") {
  heap_allocator alloc{4 * mib};
  object_store store{alloc};
  auto value = pattern(8 * mib, 1);
  try {
    store.create_on_disk(object_id{3, 3}, value.size(), 7, "big", encoding::raw_array,
                         value.data());
    FAIL("no spill folder, yet it was made");
  } catch (const troupe::object_store_full& e) {
    CHECK(std::string{e.what()}.find("spilling is off") != std::string::npos);
  }
  folder dir;
  store.set_spill_dir(dir.path);
  // A child whose files may not exceed 1 MiB: the disk is "full" for it.
  auto child = spawn([&] {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{mib, mib};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      store.create_on_disk(object_id{3, 4}, value.size(), 7, "big", encoding::raw_array,
                           value.data());
    } catch (const troupe::object_store_full& e) {
      auto text = std::string{e.what()};
      bool named = text.find("the disk has no room either") != std::string::npos
                   && text.find(dir.path) != std::string::npos;
      // The child's copy of the store: nothing of the object is left in it.
      return named && store.stats().live_objects == 0 ? 0 : 2;
    }
    return 1;
  });
  CHECK(wait_status(child) == 0);
  CHECK(dir.files() == 0);
}
