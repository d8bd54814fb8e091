// Unit tests of the actor call queue (call_queue.hpp).
#include "lib/core/call_queue.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <random>

std::uint64_t troupe_test_seed();

using troupe::detail::call_queue;

TEST_CASE("a call queue is first in, first out") {
  call_queue q;
  CHECK(q.empty());
  for (std::uint64_t i = 1; i <= 3; ++i)
    q.push_back(i);
  CHECK(q.size() == 3);
  CHECK(q.front() == 1);
  q.pop_front();
  CHECK(q.front() == 2);
  q.pop_front();
  q.pop_front();
  CHECK(q.empty());
  q.push_back(9); // usable again once drained
  CHECK(q.front() == 9);
}

TEST_CASE("a long queue drained from the front keeps its order") {
  call_queue q;
  for (std::uint64_t i = 0; i < 100'000; ++i)
    q.push_back(i);
  for (std::uint64_t i = 0; i < 100'000; ++i) {
    REQUIRE(q.front() == i);
    q.pop_front();
  }
  CHECK(q.empty());
}

TEST_CASE("a call queue behaves as a deque under mixed operations") {
  std::mt19937_64 rng{troupe_test_seed()}; // printed; TROUPE_TEST_SEED repeats it
  call_queue q;
  std::deque<std::uint64_t> model;
  std::uint64_t next = 0;
  for (int step = 0; step < 20'000; ++step) {
    switch (rng() % 6) {
      case 0: case 1: case 2:
        q.push_back(next);
        model.push_back(next++);
        break;
      case 3:
        if (!model.empty()) {
          q.pop_front();
          model.pop_front();
        }
        break;
      case 4: { // a cancel takes a call out of the middle
        if (model.empty())
          break;
        auto victim = model[rng() % model.size()];
        q.erase(std::find(q.begin(), q.end(), victim));
        model.erase(std::find(model.begin(), model.end(), victim));
        break;
      }
      default: { // lost calls go back to the front
        std::uint64_t back[2] = {next, next + 1};
        next += 2;
        q.insert(q.begin(), back, back + 2);
        model.insert(model.begin(), back, back + 2);
      }
    }
    REQUIRE(q.size() == model.size());
    REQUIRE(std::equal(q.begin(), q.end(), model.begin(), model.end()));
  }
}
