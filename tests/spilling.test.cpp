// Spilling: a node's store takes many times its size, objects going to disk
// when it is full and coming back when read.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "lib/core/client.hpp"
#include "tests/cluster_fixture.hpp"
#include "tests/own_status.hpp"
#include "tests/rendezvous.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;

namespace {

constexpr std::size_t mib = 1024 * 1024;

/// Checks a value of `fill`'s pattern in a worker: its store maps the
/// fallback file the value lives in.
std::uint64_t count_marked(const std::vector<std::uint64_t>& v) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < v.size(); i += 4096)
    n += v[i] == i * 7 + 1;
  return n + (v.back() == 42);
}
TROUPE_REMOTE(count_marked);

troupe::init_options small_store(const std::string& spill_dir = "") {
  auto opts = local_cluster::small();
  opts.object_store_memory = 256 * mib;
  opts.spill_dir = spill_dir;
  return opts;
}

/// A folder of the test's own for `--spill-dir`, removed after.
struct spill_folder {
  std::filesystem::path path = std::filesystem::temp_directory_path()
                               / ("troupe_spilling_" + std::to_string(::getpid()));
  spill_folder() { std::filesystem::create_directories(path); }
  ~spill_folder() { std::filesystem::remove_all(path); }
};

/// The node's store as `troupe status` shows it.
troupe::store_status node_store() {
  auto& c = troupe::detail::client::get();
  auto text = troupe::detail::ask<std::string>(c.system(), c.node().store_manager, 10s,
                                               "the store manager did not answer",
                                               troupe::stats_atom::value);
  return troupe::from_json_text<troupe::store_status>(text);
}

/// How many of this driver's objects `troupe list objects` shows `where`,
/// with a file that exists in `folder` when `folder` is given.
std::size_t objects_shown(const std::string& where, const std::string& folder = "") {
  std::size_t n = 0;
  for (auto& row : troupe::test::own_status().objects)
    if (row.where == where
        && (folder.empty()
            || (row.file.rfind(folder, 0) == 0 && std::filesystem::exists(row.file))))
      ++n;
  return n;
}

} // namespace

TEST_CASE("a 256 MB store takes 2 GB of objects and gives each back correct") {
  spill_folder folder;
  local_cluster cluster{small_store(folder.path.string())};
  constexpr int objects = 32;
  constexpr std::size_t doubles = 64 * mib / sizeof(double);
  std::vector<troupe::object_ref<std::vector<double>>> refs;
  for (int i = 0; i < objects; ++i) {
    std::vector<double> v(doubles, static_cast<double>(i));
    v.back() = -i;
    refs.push_back(troupe::put(v));
  }
  auto& store = *troupe::detail::client::get().store();
  CHECK(store.stats().spilled_objects >= objects - 4);
  // Where, as `troupe status` and `troupe list objects` show it.
  auto shown = node_store();
  CAPTURE(shown.spill_dir);
  CHECK(shown.spill_dir.rfind(folder.path.string() + "/spill-", 0) == 0);
  CHECK(shown.spilled_objects == store.stats().spilled_objects);
  CHECK(shown.spilled_bytes >= shown.spilled_objects * 64 * mib);
  CHECK(objects_shown("spilled", shown.spill_dir) == shown.spilled_objects);
  CHECK(objects_shown("memory") + shown.spilled_objects == objects);
  for (int i = 0; i < objects; ++i) {
    CAPTURE(i);
    auto v = troupe::get(refs[static_cast<std::size_t>(i)], 60s);
    REQUIRE(v.size() == doubles);
    CHECK(v.front() == i);
    CHECK(v[doubles / 2] == i);
    CHECK(v.back() == -i);
  }
  refs.clear();
  CHECK(troupe::test::eventually([&] { return store.stats().spilled_objects == 0; }, 10s));
}

TEST_CASE("a 600 MB value works on a 256 MB store: put, got back, passed to a task") {
  local_cluster cluster{small_store()};
  constexpr std::size_t words = 600 * mib / sizeof(std::uint64_t);
  std::vector<std::uint64_t> v(words, 0);
  for (std::size_t i = 0; i < words; i += 4096)
    v[i] = i * 7 + 1;
  v.back() = 42;
  auto ref = troupe::put(v);
  v = {};
  auto& store = *troupe::detail::client::get().store();
  CHECK(store.stats().fallback_objects == 1);
  CHECK(store.stats().fallback_bytes >= 600 * mib);
  CHECK(node_store().fallback_objects == 1);
  CHECK(objects_shown("disk", node_store().spill_dir) == 1);
  {
    auto back = troupe::get(ref, 60s);
    REQUIRE(back.size() == words);
    CHECK(back[4096] == 4096 * 7 + 1);
    CHECK(back.back() == 42);
  }
  auto marked = troupe::get(troupe::task(count_marked).remote(ref), 120s);
  CHECK(marked == words / 4096 + 1);
  // Objects that fit still go to memory meanwhile.
  auto small = troupe::put(std::vector<double>(mib, 1.5));
  CHECK(troupe::get(small, 30s)[mib - 1] == 1.5);
  ref = {};
  CHECK(troupe::test::eventually([&] { return store.stats().fallback_objects == 0; }, 10s));
}
