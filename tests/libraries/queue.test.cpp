// troupe::queue on a real local cluster: an async actor holding the items,
// put and got from the driver, tasks and actors.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/cluster_fixture.hpp"
#include "troupe/queue.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;
using troupe::detail::queue_actor;

namespace {

/// Puts 0..n-1 into `q` (from a task's worker process).
int produce(troupe::queue<int> q, int n) {
  for (int i = 0; i < n; ++i)
    q.put(i);
  return n;
}
TROUPE_REMOTE(produce);

/// An actor that takes items from a queue it was given.
class consumer {
public:
  explicit consumer(troupe::queue<int> q) : q_(std::move(q)) {}
  std::vector<int> take(int n) {
    std::vector<int> out;
    for (int i = 0; i < n; ++i)
      out.push_back(q_.get(20s));
    return out;
  }

private:
  troupe::queue<int> q_;
};
std::unique_ptr<consumer> make_consumer(troupe::queue<int> q) {
  return std::make_unique<consumer>(std::move(q));
}
TROUPE_REMOTE(make_consumer);
TROUPE_REMOTE(&consumer::take);

/// A get sent as a call of its own, so that the test knows it reached the
/// actor before the calls it sends next (one caller's calls start in order).
troupe::object_ref<troupe::detail::queue_take> waiting_get(const troupe::queue<int>& q,
                                                           std::int64_t timeout_us) {
  return q.actor().task(&queue_actor::get).remote(timeout_us);
}

int item_of(const troupe::object_ref<troupe::detail::queue_take>& r) {
  auto t = troupe::get(r, 20s);
  REQUIRE(t.ok);
  return troupe::detail::from_bytes<int>(t.bytes);
}

} // namespace

TEST_CASE("items come out first in, first out; try_get and get time out on an empty queue") {
  local_cluster cluster;
  troupe::queue<std::string> q(0);
  CHECK(q.empty());
  for (auto s : {"a", "b", "c"})
    q.put(s);
  CHECK(q.size() == 3);
  CHECK(q.get() == "a");
  CHECK(q.try_get() == std::optional<std::string>{"b"});
  CHECK(q.get(1s) == "c");
  CHECK_FALSE(q.try_get().has_value());
  CHECK_THROWS_AS(q.get(100ms), troupe::queue_empty);
  CHECK_FALSE(q.full()); // no bound
}

TEST_CASE("a bounded queue refuses what does not fit, whole batches included") {
  local_cluster cluster;
  troupe::queue<int> q(2);
  CHECK(q.maxsize() == 2);
  CHECK(q.try_put(1));
  CHECK(q.try_put(2));
  CHECK(q.full());
  CHECK_FALSE(q.try_put(3));
  CHECK_THROWS_AS(q.put(3, 50ms), troupe::queue_full);
  CHECK(q.get_batch(5) == std::vector<int>{1, 2});
  CHECK_THROWS_AS(q.put_batch({4, 5, 6}), troupe::queue_full);
  CHECK(q.empty()); // all or nothing
  q.put_batch({4, 5});
  CHECK(q.get_batch(1) == std::vector<int>{4});
  CHECK_THROWS_AS(troupe::queue<int>(-1), std::invalid_argument);
}

TEST_CASE("a waiting get does not hold the queue: other calls go on, a put wakes it") {
  local_cluster cluster;
  troupe::queue<int> q(1);
  auto first = waiting_get(q, 60'000'000);
  auto second = waiting_get(q, 60'000'000);
  auto times_out = waiting_get(q, 100'000);
  // Were the actor's thread held by the waiting gets, these would hang.
  CHECK(q.size() == 0);
  auto t = troupe::get(times_out, 20s);
  CHECK_FALSE(t.ok);
  // A put from another process (a task's worker) wakes the first getter;
  // the bound of 1 holds the producer until the second getter takes one.
  CHECK(troupe::get(troupe::task(produce).remote(q, 2), 20s) == 2);
  std::set<int> got{item_of(first), item_of(second)};
  CHECK(got == std::set<int>{0, 1});
}

TEST_CASE("a waiting put is woken by a get; a queue handle works in tasks and actors") {
  local_cluster cluster;
  troupe::queue<int> q(3);
  auto c = troupe::actor(make_consumer).remote(q);
  auto taken = c.task(&consumer::take).remote(100);
  // 100 items through a queue of 3: the producer waits for the consumer
  // again and again, and one producer's items keep their order.
  CHECK(troupe::get(troupe::task(produce).remote(q, 100), 30s) == 100);
  auto items = troupe::get(taken, 30s);
  REQUIRE(items.size() == 100);
  for (int i = 0; i < 100; ++i)
    CHECK(items[i] == i);
}

TEST_CASE("a named queue is found by name and item type") {
  local_cluster cluster;
  troupe::queue<int> q(0, {.name = "jobs"});
  auto found = troupe::queue<int>::find("jobs");
  found.put(42);
  CHECK(q.get(5s) == 42);
  CHECK_THROWS_AS(troupe::queue<std::string>::find("jobs"), troupe::argument_type_error);
  CHECK_THROWS_AS(troupe::queue<int>::find("nope"), troupe::error);
  troupe::queue<int> empty;
  CHECK_THROWS_AS(empty.put(1), troupe::error);
  q.shutdown();
  CHECK_THROWS_AS(found.put(1), troupe::actor_died_error);
}
