// Async actors end to end: coroutine methods that co_await refs while their
// actor serves other calls on its one thread.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "tests/cluster_fixture.hpp"
#include "tests/rendezvous.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;
using troupe::test::temp_dir;

namespace {

/// Returns 7 once the file `path` exists; throws after 20 s without it.
int wait_for_file(std::string path) {
  if (!troupe::test::file_appears(path, 20s))
    throw std::runtime_error("nobody wrote " + path);
  return 7;
}
TROUPE_REMOTE(wait_for_file);

int fails_on_purpose(int code) {
  throw std::invalid_argument("bad input " + std::to_string(code));
}
TROUPE_REMOTE(fails_on_purpose);

int add_one(int x) {
  return x + 1;
}
TROUPE_REMOTE(add_one);

/// A plain actor, called from a coroutine.
class tally {
public:
  int add(int by) { return total_ += by; }

private:
  int total_ = 0;
};

std::unique_ptr<tally> make_tally() {
  return std::make_unique<tally>();
}
TROUPE_REMOTE(make_tally);
TROUPE_REMOTE(&tally::add);

/// An async actor: its coroutine methods suspend at co_await and its plain
/// methods run between them, all on one thread.
class waiter {
public:
  /// Awaits a task that returns only once `path` exists.
  troupe::async<int> await_file(std::string path) {
    ++started_;
    int x = co_await troupe::task(wait_for_file).remote(path);
    co_return x + 1;
  }

  /// A plain method: writes `path`.
  int touch(std::string path) {
    troupe::test::write_file(path, "");
    return started_;
  }

  /// Enters the gauge in `dir`, awaits `gate`, leaves.
  troupe::async<int> gated(std::string dir, troupe::object_ref<int> gate) {
    troupe::test::overlap_gauge gauge{dir};
    int seen = gauge.enter();
    co_await gate;
    gauge.leave();
    co_return seen;
  }

  troupe::async<int> boom(int code) {
    if (code > 0)
      throw std::runtime_error("boom " + std::to_string(code));
    int x = co_await troupe::task(add_one).remote(code);
    throw std::out_of_range("late boom " + std::to_string(x));
  }

  /// Awaits a ref that fails, catching its error.
  troupe::async<std::string> catch_failure(troupe::object_ref<int> r) {
    try {
      co_await r;
      co_return "no error";
    } catch (const troupe::task_error& e) {
      co_return e.task_name() + " | " + e.exception_type() + " | " + e.message();
    }
  }

  /// Awaits a ref that fails, without catching.
  troupe::async<int> pass_failure(troupe::object_ref<int> r) {
    int x = co_await r;
    co_return x;
  }

  /// A helper coroutine awaited by another: two tasks and another actor.
  troupe::async<int> twice_plus_one(int x) {
    int a = co_await troupe::task(add_one).remote(x);
    int b = co_await troupe::task(add_one).remote(x);
    co_return a + b - 1;
  }
  troupe::async<int> chain(int x, troupe::actor_handle<tally> t) {
    int y = co_await twice_plus_one(x);
    int total = co_await t.task(&tally::add).remote(y);
    co_return total;
  }

  /// A coroutine that never awaits: it runs to its end at once.
  troupe::async<int> ready(int x) { co_return x; }

  troupe::async<void> nothing() { co_return; }

  int pid() const { return static_cast<int>(::getpid()); }

private:
  int started_ = 0;
};

std::unique_ptr<waiter> make_waiter() {
  return std::make_unique<waiter>();
}
TROUPE_REMOTE(make_waiter);
TROUPE_REMOTE(&waiter::await_file);
TROUPE_REMOTE(&waiter::touch);
TROUPE_REMOTE(&waiter::gated);
TROUPE_REMOTE(&waiter::boom);
TROUPE_REMOTE(&waiter::catch_failure);
TROUPE_REMOTE(&waiter::pass_failure);
TROUPE_REMOTE(&waiter::chain);
TROUPE_REMOTE(&waiter::ready);
TROUPE_REMOTE(&waiter::nothing);
TROUPE_REMOTE(&waiter::pid);

} // namespace

TEST_CASE("a coroutine method awaiting a ref does not block the actor's other calls") {
  local_cluster cluster;
  temp_dir dir;
  auto w = troupe::actor(make_waiter).remote();
  auto path = dir / "written-by-b";
  // A awaits a task that ends only once B ran: with the actor blocked in
  // A, B would never run and A's task would fail after 20 s.
  auto a = w.task(&waiter::await_file).remote(path);
  auto b = w.task(&waiter::touch).remote(path);
  CHECK(troupe::get(b, 30s) == 1); // B ran while A was in flight
  CHECK(troupe::get(a, 30s) == 8);
}

TEST_CASE("max_concurrency bounds the calls of an async actor in flight") {
  local_cluster cluster;
  temp_dir dir;
  troupe::actor_options o;
  o.max_concurrency = 2;
  auto w = troupe::actor(make_waiter, o).remote();
  troupe::test::overlap_gauge gauge{dir.str()};
  auto open = dir / "open";
  auto gate = troupe::task(wait_for_file).remote(open);
  std::vector<troupe::object_ref<int>> calls;
  for (int i = 0; i < 6; ++i)
    calls.push_back(w.task(&waiter::gated).remote(dir.str(), gate));
  // Two calls suspend at the closed gate, both in flight on one thread; the
  // other four wait for a slot (without the bound they would all be in).
  REQUIRE_MESSAGE(troupe::test::eventually([&] { return gauge.inside() == 2; }, 30s),
                  "two calls never were in flight at once");
  troupe::test::write_file(open, "");
  for (auto seen : troupe::get(calls, 30s))
    CHECK(seen <= 2);
  CHECK(gauge.most() == 2);
  CHECK(gauge.inside() == 0);
}

TEST_CASE("an exception in a coroutine fails its call as a method's exception does") {
  local_cluster cluster;
  auto w = troupe::actor(make_waiter).remote();
  try {
    troupe::get(w.task(&waiter::boom).remote(3), 30s);
    FAIL("no throw");
  } catch (const troupe::task_error& e) {
    CHECK(e.task_name().find("waiter::boom") != std::string::npos);
    CHECK(e.exception_type() == "std::runtime_error");
    CHECK(e.message() == "boom 3");
  }
  // Thrown after a co_await, resumed on the actor's thread.
  try {
    troupe::get(w.task(&waiter::boom).remote(0), 30s);
    FAIL("no throw");
  } catch (const troupe::task_error& e) {
    CHECK(e.task_name().find("waiter::boom") != std::string::npos);
    CHECK(e.exception_type() == "std::out_of_range");
    CHECK(e.message() == "late boom 1");
  }
  CHECK(troupe::get(w.task(&waiter::ready).remote(5), 30s) == 5); // still serving
}

TEST_CASE("a coroutine awaiting a failed ref gets the ref's error at the co_await") {
  local_cluster cluster;
  auto w = troupe::actor(make_waiter).remote();
  auto bad = troupe::task(fails_on_purpose).remote(4);
  auto caught = troupe::get(w.task(&waiter::catch_failure).remote(bad), 30s);
  CHECK(caught == "fails_on_purpose | std::invalid_argument | bad input 4");
  // Not caught: the call fails with the same cause, as a task whose get failed.
  try {
    troupe::get(w.task(&waiter::pass_failure).remote(bad), 30s);
    FAIL("no throw");
  } catch (const troupe::task_error& e) {
    CHECK(e.task_name() == "fails_on_purpose");
    CHECK(e.message() == "bad input 4");
  }
}

TEST_CASE("coroutines await each other, tasks and other actors' calls") {
  local_cluster cluster;
  auto w = troupe::actor(make_waiter).remote();
  auto t = troupe::actor(make_tally).remote();
  CHECK(troupe::get(w.task(&waiter::chain).remote(10, t), 30s) == 21);
  CHECK(troupe::get(w.task(&waiter::chain).remote(1, t), 30s) == 24);
  troupe::get(w.task(&waiter::nothing).remote(), 30s);
  // Many calls of a coroutine that never suspends, in one batch.
  std::vector<troupe::object_ref<int>> refs;
  for (int i = 0; i < 300; ++i)
    refs.push_back(w.task(&waiter::ready).remote(i));
  auto values = troupe::get(refs, 30s);
  for (int i = 0; i < 300; ++i)
    CHECK(values[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("an async actor whose worker is killed fails its suspended calls") {
  local_cluster cluster;
  temp_dir dir;
  auto w = troupe::actor(make_waiter).remote();
  auto pid = troupe::get(w.task(&waiter::pid).remote(), 30s);
  troupe::test::overlap_gauge gauge{dir.str()};
  auto never = troupe::task(wait_for_file).remote(dir / "never");
  auto suspended = w.task(&waiter::gated).remote(dir.str(), never);
  REQUIRE(troupe::test::eventually([&] { return gauge.inside() == 1; }, 30s));
  REQUIRE(::kill(pid, SIGKILL) == 0);
  try {
    troupe::get(suspended, 30s);
    FAIL("no throw");
  } catch (const troupe::actor_died_error& e) {
    CHECK(e.reason().find("SIGKILL") != std::string::npos);
  }
}
