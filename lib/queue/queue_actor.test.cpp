// The queue actor's logic, driven directly: no actor system, no cluster.
// Calls that need not wait complete at once; waiting needs an actor's
// thread (tests/libraries/queue.test.cpp covers it).
#include "troupe/queue.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using troupe::detail::queue_actor;
using troupe::detail::queue_take;

namespace {

std::vector<char> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

std::string text(const queue_take& t) {
  return {t.bytes.begin(), t.bytes.end()};
}

/// Runs a coroutine call that does not wait, and returns its result.
template <class T>
T run(troupe::async<T> call) {
  call.handle().resume();
  REQUIRE(call.handle().done());
  return call.take();
}

} // namespace

TEST_CASE("first in, first out; try_get on an empty queue gives nothing") {
  queue_actor q(0, "std::string");
  CHECK(q.try_put(bytes("a")));
  CHECK(run(q.put(bytes("b"), -1)));
  CHECK(q.size() == 2);
  CHECK(text(q.try_get()) == "a");
  CHECK(text(run(q.get(0))) == "b");
  CHECK_FALSE(q.try_get().ok);
  CHECK_FALSE(run(q.get(0)).ok); // a timeout of 0 does not wait
  CHECK(q.item_type() == "std::string");
}

TEST_CASE("a bound refuses single items and whole batches that do not fit") {
  queue_actor q(3, "int");
  CHECK(q.maxsize() == 3);
  CHECK(q.put_batch({bytes("1"), bytes("2")}));
  CHECK_FALSE(q.put_batch({bytes("3"), bytes("4")})); // all or nothing
  CHECK(q.size() == 2);
  CHECK(q.try_put(bytes("3")));
  CHECK_FALSE(q.try_put(bytes("4")));
  CHECK_FALSE(run(q.put(bytes("4"), 0)));
  auto taken = q.get_batch(2);
  REQUIRE(taken.size() == 2);
  CHECK(std::string(taken[0].begin(), taken[0].end()) == "1");
  CHECK(q.get_batch(10).size() == 1);
  CHECK(q.get_batch(10).empty());
}

TEST_CASE("a negative maxsize means no bound inside the actor; the handle refuses it") {
  queue_actor q(-5, "int");
  CHECK(q.maxsize() == 0);
  for (int i = 0; i < 1000; ++i)
    CHECK(q.try_put(bytes("x")));
}
