// Unit tests of the light directory: a host's light actors by CAF id, in
// pages that go when their last actor does.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "lib/core/light_directory.hpp"
#include "lib/protocol/handles.hpp"

using namespace troupe::detail;

std::uint64_t troupe_test_seed();

namespace {

// Takes an argument: CAF 0.17 spawns a function of none by dereferencing a
// null tuple of them (UBSan stops on it).
caf::behavior idle_actor(int) {
  return {[](int) {}};
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};

  caf::strong_actor_ptr spawn() {
    return troupe::handle_cast<caf::strong_actor_ptr>(sys.spawn(idle_actor, 0));
  }
};

constexpr auto page = light_directory::page_size;

} // namespace

TEST_CASE("the light directory finds what was added under its id, and not after removal") {
  fixture f;
  light_directory d;
  auto a = f.spawn();
  auto b = f.spawn();
  d.add(5, a);
  d.add(page * 3 + 1, b);
  CHECK(d.find(5) == a);
  CHECK(d.find(page * 3 + 1) == b);
  CHECK(d.find(6) == nullptr);
  CHECK(d.find(page * 2) == nullptr); // a page between the two, never made
  CHECK(d.find(page * 100) == nullptr);
  CHECK(d.size() == 2);
  CHECK(d.pages() == 2);
  CHECK(d.remove(5));
  CHECK_FALSE(d.remove(5));
  CHECK(d.find(5) == nullptr);
  CHECK(d.find(page * 3 + 1) == b);
  CHECK(d.size() == 1);
}

TEST_CASE("a page of the light directory goes with its last actor") {
  fixture f;
  light_directory d;
  auto a = f.spawn();
  for (std::uint64_t id = page; id < page + 10; ++id)
    d.add(id, a);
  d.add(page * 2, a);
  d.add(page * 7, a);
  CHECK(d.pages() == 3);
  for (std::uint64_t id = page; id < page + 9; ++id)
    d.remove(id);
  CHECK(d.pages() == 3); // one actor left in the first page
  d.remove(page + 9);
  CHECK(d.pages() == 2);
  d.remove(page * 7);
  CHECK(d.pages() == 1);
  CHECK(d.find(page * 2) == a);
  d.remove(page * 2);
  CHECK(d.pages() == 0);
  CHECK(d.size() == 0);
  // It starts over anywhere, below where it was too.
  d.add(3, a);
  d.add(page * 9, a);
  d.add(page * 4, a);
  CHECK(d.find(3) == a);
  CHECK(d.find(page * 4) == a);
  CHECK(d.pages() == 3);
}

TEST_CASE("for_each_found names each id found by its place in the list") {
  fixture f;
  light_directory d;
  auto a = f.spawn();
  auto b = f.spawn();
  d.add(10, a);
  d.add(page + 10, b);
  std::vector<std::uint64_t> ids{99, page + 10, 10, 10};
  std::vector<std::pair<std::size_t, caf::strong_actor_ptr>> seen;
  d.for_each_found(ids, [&](std::size_t i, const caf::strong_actor_ptr& x) {
    seen.emplace_back(i, x);
  });
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == std::pair{std::size_t{1}, b});
  CHECK(seen[1] == std::pair{std::size_t{2}, a});
  CHECK(seen[2] == std::pair{std::size_t{3}, a});
}

TEST_CASE("the light directory keeps its actors alive until they are removed") {
  fixture f;
  light_directory d;
  auto a = f.spawn();
  caf::weak_actor_ptr watch{a.get()};
  d.add(1, std::move(a));
  CHECK(watch.lock() != nullptr);
  d.remove(1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (watch.lock() != nullptr && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  CHECK(watch.lock() == nullptr);
}

TEST_CASE("the light directory agrees with a map over random adds and removes") {
  auto seed = troupe_test_seed(); // printed; TROUPE_TEST_SEED repeats it
  std::mt19937_64 rng{seed};
  fixture f;
  std::vector<caf::strong_actor_ptr> actors{f.spawn(), f.spawn(), f.spawn()};
  light_directory d;
  std::map<std::uint64_t, caf::strong_actor_ptr> model;
  // Ids mostly in sequence from a moving start, as a host's are.
  std::uint64_t base = page * 3;
  for (int step = 0; step < 20000; ++step) {
    auto id = base + rng() % (page * 4);
    if (rng() % 3 != 0) {
      auto& a = actors[rng() % actors.size()];
      d.add(id, a);
      model[id] = a;
    } else {
      CHECK(d.remove(id) == (model.erase(id) == 1));
    }
    if (step % 1000 == 999)
      base = rng() % (page * 20);
  }
  CHECK(d.size() == model.size());
  for (std::uint64_t id = 0; id < page * 30; id += 7) {
    auto it = model.find(id);
    CHECK(d.find(id) == (it == model.end() ? nullptr : it->second));
  }
  for (auto& [id, a] : model)
    CHECK(d.find(id) == a);
}
