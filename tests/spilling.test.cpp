// Spilling: a node's store takes many times its size, objects going to disk
// when it is full and coming back when read.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "lib/core/client.hpp"
#include "tests/cluster_fixture.hpp"
#include "tests/rendezvous.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;

namespace {

constexpr std::size_t mib = 1024 * 1024;

troupe::init_options small_store() {
  auto opts = local_cluster::small();
  opts.object_store_memory = 256 * mib;
  return opts;
}

} // namespace

TEST_CASE("a 256 MB store takes 2 GB of objects and gives each back correct") {
  local_cluster cluster{small_store()};
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
