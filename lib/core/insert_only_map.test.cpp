// Unit tests of insert_only_map: the submitter's map of actors.
#include <doctest/doctest.h>

#include <cstdio>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/core/insert_only_map.hpp"
#include "troupe/object_id.hpp"

using troupe::object_id;
using troupe::detail::insert_only_map;

std::uint64_t troupe_test_seed();

namespace {

/// Every key in one place: each lookup probes past all the others.
struct one_hash {
  std::size_t operator()(int) const noexcept { return 7; }
};

} // namespace

TEST_CASE("insert_only_map makes an entry on first use and finds it after") {
  insert_only_map<object_id, std::string> m;
  CHECK(m.find({1, 2}) == nullptr);
  CHECK(m.empty());
  m[{1, 2}] = "a";
  m[{1, 3}] = "b";
  m[{9, 2}];
  REQUIRE(m.find({1, 2}) != nullptr);
  CHECK(m.find({1, 2})->second == "a");
  CHECK(m.find({1, 3})->second == "b");
  CHECK(m.find({9, 2})->second.empty());
  CHECK(m.find({2, 1}) == nullptr);
  CHECK(m[{1, 2}] == "a"); // no second entry
  CHECK(m.size() == 3);
}

TEST_CASE("insert_only_map keeps each entry's address and its order as it grows") {
  insert_only_map<object_id, int> m;
  std::vector<int*> where;
  for (std::uint64_t i = 0; i < 5000; ++i) {
    where.push_back(&m[{42, i}]);
    *where.back() = static_cast<int>(i);
  }
  for (std::uint64_t i = 0; i < 5000; ++i)
    CHECK(&m.find({42, i})->second == where[i]);
  std::uint64_t expected = 0;
  for (auto& [id, v] : m) {
    CHECK(id.seq == expected);
    CHECK(v == static_cast<int>(expected++));
  }
  CHECK(expected == 5000);
}

TEST_CASE("insert_only_map finds keys that share a slot, and misses past them") {
  insert_only_map<int, int, one_hash> m;
  for (int i = 0; i < 100; ++i)
    m[i] = i * 2;
  for (int i = 0; i < 100; ++i) {
    REQUIRE(m.find(i) != nullptr);
    CHECK(m.find(i)->second == i * 2);
  }
  CHECK(m.find(100) == nullptr);
  CHECK(m.find(-1) == nullptr);
}

TEST_CASE("insert_only_map agrees with unordered_map over random keys") {
  auto seed = troupe_test_seed(); // printed; TROUPE_TEST_SEED repeats it
  std::mt19937_64 rng{seed};
  insert_only_map<object_id, std::uint64_t> m;
  std::unordered_map<object_id, std::uint64_t> model;
  for (int step = 0; step < 50000; ++step) {
    // Few owners, ids counting up with gaps, as a driver's and its peers'.
    object_id id{rng() % 4 + 1, rng() % 30000};
    if (rng() % 2 == 0) {
      auto v = rng();
      m[id] = v;
      model[id] = v;
    } else {
      auto* e = m.find(id);
      auto it = model.find(id);
      REQUIRE((e == nullptr) == (it == model.end()));
      if (e != nullptr)
        CHECK(e->second == it->second);
    }
  }
  CHECK(m.size() == model.size());
  for (auto& [id, v] : m)
    CHECK(model.at(id) == v);
}
