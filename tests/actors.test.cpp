// Actors end to end: stateful instances in worker processes of their own
// or, run again with TROUPE_ACTOR_ISOLATION=shared (tests/meson.build), light
// actors in shared host processes.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
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

class counter {
public:
  explicit counter(int start) : value_(start) {
    if (start < 0)
      throw std::invalid_argument("a counter cannot start below zero");
  }
  int add(int by) { return value_ += by; }
  int value() const { return value_; }
  int pid() const { return static_cast<int>(::getpid()); }
  int fail(int code) {
    throw std::runtime_error("failing on purpose with " + std::to_string(code));
  }
  int slow_add(int by, int millis) {
    std::this_thread::sleep_for(std::chrono::milliseconds(millis));
    return value_ += by;
  }
  /// Like slow_add, but first writes the file `started`: the caller knows
  /// when the call is running.
  int signalled_slow_add(int by, std::string started, int millis) {
    troupe::test::write_file(started, "");
    return slow_add(by, millis);
  }
  int quit() {
    troupe::exit_actor();
    return value_;
  }
  int not_registered() { return -1; }
  /// Waits (up to 5 s) until `n` calls are inside at once; returns how many
  /// it saw. Only concurrent calls can meet.
  int rendezvous(int n) {
    ++inside_;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (inside_.load() < n && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return inside_.load();
  }

private:
  int value_;
  std::atomic<int> inside_{0};
};

std::unique_ptr<counter> make_counter(int start) {
  return std::make_unique<counter>(start);
}
TROUPE_REMOTE(make_counter);
TROUPE_REMOTE(&counter::add);
TROUPE_REMOTE(&counter::value);
TROUPE_REMOTE(&counter::pid);
TROUPE_REMOTE(&counter::fail);
TROUPE_REMOTE(&counter::slow_add);
TROUPE_REMOTE(&counter::signalled_slow_add);
TROUPE_REMOTE(&counter::quit);
TROUPE_REMOTE(&counter::rendezvous);

/// Message store fed by tasks through a handle passed to them.
class mailbox {
public:
  int post(std::string text) {
    messages_.push_back(std::move(text));
    return static_cast<int>(messages_.size());
  }
  std::vector<std::string> read() const { return messages_; }

private:
  std::vector<std::string> messages_;
};

std::unique_ptr<mailbox> make_mailbox() {
  return std::make_unique<mailbox>();
}
TROUPE_REMOTE(make_mailbox);
TROUPE_REMOTE(&mailbox::post);
TROUPE_REMOTE(&mailbox::read);

int send_messages(troupe::actor_handle<mailbox> box, int sender, int count) {
  for (int i = 0; i < count; ++i)
    troupe::get(box.task(&mailbox::post).remote("sender " + std::to_string(sender)));
  return count;
}
TROUPE_REMOTE(send_messages);

troupe::actor_handle<counter> make_counter_in_task(int start) {
  return troupe::actor(make_counter).remote(start);
}
TROUPE_REMOTE(make_counter_in_task);

/// Calls `add(by)` on each handle in turn; returns the last answer.
int add_through_all(std::vector<troupe::actor_handle<counter>> handles, int by) {
  int last = 0;
  for (auto& h : handles)
    last = troupe::get(h.task(&counter::add).remote(by));
  return last;
}
TROUPE_REMOTE(add_through_all);

/// Returns whether this run makes every actor light.
bool light_run() {
  auto* v = std::getenv("TROUPE_ACTOR_ISOLATION");
  return v && std::string{v} == "shared";
}

} // namespace

TEST_CASE("an actor keeps its state between method calls") {
  local_cluster cluster;
  auto c = troupe::actor(make_counter).remote(10);
  auto a = c.task(&counter::add).remote(5);
  auto b = c.task(&counter::add).remote(7);
  CHECK(troupe::get(a, 30s) == 15);
  CHECK(troupe::get(b, 30s) == 22);
  CHECK(troupe::get(c.task(&counter::value).remote(), 30s) == 22);
}

TEST_CASE("calls from one caller run in the order they were sent") {
  local_cluster cluster;
  auto c = troupe::actor(make_counter).remote(0);
  auto slow = c.task(&counter::slow_add).remote(1, 200); // sent first, slow
  std::vector<troupe::object_ref<int>> later;
  for (int i = 0; i < 50; ++i)
    later.push_back(c.task(&counter::add).remote(1));
  CHECK(troupe::get(slow, 30s) == 1);
  auto values = troupe::get(later, 30s);
  for (int i = 0; i < 50; ++i)
    CHECK(values[static_cast<std::size_t>(i)] == i + 2);
}

TEST_CASE("a burst of calls bigger than the core's submit chunk keeps its order, all answered") {
  local_cluster cluster;
  auto c = troupe::actor(make_counter).remote(0);
  // The core submits a burst a chunk at a time (2,048), sending each chunk
  // before the next: order and completeness must hold across chunks.
  constexpr int n = 10'000;
  std::vector<troupe::object_ref<int>> refs;
  refs.reserve(n);
  for (int i = 0; i < n; ++i)
    refs.push_back(c.task(&counter::add).remote(1));
  auto values = troupe::get(refs, 120s);
  for (int i = 0; i < n; ++i)
    REQUIRE(values[static_cast<std::size_t>(i)] == i + 1);
}

TEST_CASE("an actor lives in a worker process of its own (a light one in a shared host)") {
  local_cluster cluster;
  auto a = troupe::actor(make_counter).remote(0);
  auto b = troupe::actor(make_counter).remote(0);
  auto pa = troupe::get(a.task(&counter::pid).remote(), 30s);
  auto pb = troupe::get(b.task(&counter::pid).remote(), 30s);
  if (!light_run())
    CHECK(pa != pb);
  CHECK(pa != static_cast<int>(::getpid()));
  CHECK(pb != static_cast<int>(::getpid()));
}

TEST_CASE("a method that throws fails its ref and the actor serves the next call") {
  local_cluster cluster;
  auto c = troupe::actor(make_counter).remote(1);
  try {
    troupe::get(c.task(&counter::fail).remote(7), 30s);
    FAIL("no throw");
  } catch (const troupe::task_error& e) {
    CHECK(e.task_name().find("counter::fail") != std::string::npos);
    CHECK(e.exception_type() == "std::runtime_error");
    CHECK(e.message() == "failing on purpose with 7");
  }
  CHECK(troupe::get(c.task(&counter::add).remote(1), 30s) == 2);
}

TEST_CASE("a constructor that throws fails the actor's calls with that cause") {
  local_cluster cluster;
  auto c = troupe::actor(make_counter).remote(-1);
  try {
    troupe::get(c.task(&counter::value).remote(), 30s);
    FAIL("no throw");
  } catch (const troupe::actor_died_error& e) {
    INFO(e.what());
    CHECK(e.actor_name() == c.name()); // unnamed: its class
    CHECK(e.actor_name().find("counter") != std::string::npos);
    CHECK(e.reason().find("its constructor failed") != std::string::npos);
    CHECK(e.reason().find("std::invalid_argument") != std::string::npos);
    CHECK(e.reason().find("cannot start below zero") != std::string::npos);
    CHECK(std::string{e.what()}.find("cannot start below zero") != std::string::npos);
  }
}

TEST_CASE("a killed actor fails its running and later calls with actor_died_error") {
  local_cluster cluster;
  temp_dir dir;
  troupe::actor_options o;
  o.name = "doomed";
  auto c = troupe::actor(make_counter, o).remote(0);
  CHECK(c.name() == "doomed");
  CHECK(troupe::get(c.task(&counter::add).remote(1), 30s) == 1);
  auto started = dir / "started";
  auto pending = c.task(&counter::signalled_slow_add).remote(1, started, 20000);
  REQUIRE_MESSAGE(troupe::test::file_appears(started, 30s), "the slow call never started");
  troupe::kill(c);
  auto died_of_kill = [](const troupe::actor_died_error& e) {
    INFO(e.what());
    CHECK(e.actor_name() == "doomed");
    CHECK(e.reason() == "killed by troupe::kill");
    CHECK(std::string{e.what()}.find("'doomed'") != std::string::npos);
    CHECK(std::string{e.what()}.find("killed by troupe::kill") != std::string::npos);
  };
  try {
    troupe::get(pending, 30s); // well before the call's 20 s are over
    FAIL("no throw");
  } catch (const troupe::actor_died_error& e) {
    died_of_kill(e);
  }
  try {
    troupe::get(c.task(&counter::value).remote(), 30s);
    FAIL("no throw");
  } catch (const troupe::actor_died_error& e) {
    died_of_kill(e);
  }
}

TEST_CASE("an actor whose worker is killed with SIGKILL dies alone") {
  local_cluster cluster;
  auto victim = troupe::actor(make_counter).remote(0);
  auto other = troupe::actor(make_counter).remote(100);
  auto pid = troupe::get(victim.task(&counter::pid).remote(), 30s);
  // Light actors: the other must be on the node's other host (one per CPU).
  for (int i = 0; i < 50 && troupe::get(other.task(&counter::pid).remote(), 30s) == pid; ++i)
    other = troupe::actor(make_counter).remote(100);
  REQUIRE(troupe::get(other.task(&counter::pid).remote(), 30s) != pid);
  CHECK(troupe::get(other.task(&counter::add).remote(1), 30s) == 101);
  REQUIRE(::kill(pid, SIGKILL) == 0);
  try {
    troupe::get(victim.task(&counter::value).remote(), 30s);
    FAIL("no throw");
  } catch (const troupe::actor_died_error& e) {
    INFO(e.what());
    CHECK(e.actor_name() == victim.name());
    CHECK(e.reason().find("worker crashed") != std::string::npos);
    CHECK(e.reason().find("SIGKILL") != std::string::npos);
    CHECK(e.reason().find("troupe::kill") == std::string::npos);
  }
  CHECK(troupe::get(other.task(&counter::add).remote(1), 30s) == 102);
}

TEST_CASE("an actor can end itself") {
  local_cluster cluster;
  auto c = troupe::actor(make_counter).remote(3);
  CHECK(troupe::get(c.task(&counter::quit).remote(), 30s) == 3);
  try {
    troupe::get(c.task(&counter::value).remote(), 30s);
    FAIL("no throw");
  } catch (const troupe::actor_died_error& e) {
    INFO(e.what());
    CHECK(e.actor_name() == c.name());
    CHECK(e.reason().find("ended itself") != std::string::npos);
    CHECK(e.reason().find("exit_actor") != std::string::npos);
    CHECK(e.reason().find("crashed") == std::string::npos);
  }
}

TEST_CASE("handles travel: tasks post to an actor through a passed handle") {
  local_cluster cluster;
  auto box = troupe::actor(make_mailbox).remote();
  std::vector<troupe::object_ref<int>> senders;
  for (int s = 0; s < 3; ++s)
    senders.push_back(troupe::task(send_messages).remote(box, s, 5));
  for (auto n : troupe::get(senders, 60s))
    CHECK(n == 5);
  auto messages = troupe::get(box.task(&mailbox::read).remote(), 30s);
  CHECK(messages.size() == 15);
}

TEST_CASE("a handle returned from a task can be called by the driver") {
  local_cluster cluster;
  auto h = troupe::get(troupe::task(make_counter_in_task).remote(40), 30s);
  CHECK(troupe::get(h.task(&counter::add).remote(2), 30s) == 42);
}

TEST_CASE("handles stored in put objects are got back and called, by the driver and tasks") {
  local_cluster cluster;
  auto c = troupe::actor(make_counter).remote(1);
  auto boxed = troupe::put(c);
  auto back = troupe::get(boxed, 30s);
  CHECK(back.id() == c.id());
  CHECK(back.name() == c.name());
  CHECK(troupe::get(back.task(&counter::add).remote(1), 30s) == 2);
  // Inside a vector, resolved in a worker that calls each one.
  auto other = troupe::actor(make_counter).remote(100);
  auto both = troupe::put(std::vector{c, other, c});
  CHECK(troupe::get(troupe::task(add_through_all).remote(both, 10), 30s) == 22);
  CHECK(troupe::get(c.task(&counter::value).remote(), 30s) == 22);
  CHECK(troupe::get(other.task(&counter::value).remote(), 30s) == 110);
}

TEST_CASE("named actors are found by name and names are unique") {
  local_cluster cluster;
  troupe::actor_options o;
  o.name = "global-counter";
  auto c = troupe::actor(make_counter, o).remote(5);
  CHECK(c.name() == "global-counter");
  auto found = troupe::get_actor<counter>("global-counter");
  CHECK(found.id() == c.id());
  CHECK(found.name() == "global-counter");
  CHECK(troupe::get(found.task(&counter::add).remote(1), 30s) == 6);
  try {
    troupe::actor(make_counter, o).remote(0);
    FAIL("no throw");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == troupe::error_kind::name_taken);
    CHECK(std::string{e.what()}.find("global-counter") != std::string::npos);
  }
  try {
    troupe::get_actor<counter>("nobody");
    FAIL("no throw");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == troupe::error_kind::no_such_actor);
    CHECK(std::string{e.what()}.find("nobody") != std::string::npos);
  }
  CHECK_THROWS_AS(troupe::get_actor<mailbox>("global-counter"),
                  troupe::argument_type_error);
  // A name in another namespace is another name: another actor, found only
  // there.
  o.name_space = "other";
  auto c2 = troupe::actor(make_counter, o).remote(0);
  CHECK(c2.id() != c.id());
  auto found2 = troupe::get_actor<counter>("global-counter", "other");
  CHECK(found2.id() == c2.id());
  CHECK(troupe::get(found2.task(&counter::add).remote(10), 30s) == 10);
  CHECK(troupe::get(found.task(&counter::value).remote(), 30s) == 6); // untouched
  CHECK(troupe::get_actor<counter>("global-counter").id() == c.id());
  CHECK(troupe::get_actor<counter>("global-counter", "").id() == c.id());
  try {
    troupe::get_actor<counter>("global-counter", "third");
    FAIL("found in a namespace where it was never created");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == troupe::error_kind::no_such_actor);
  }
  // A name taken in one namespace is still taken there only.
  try {
    troupe::actor(make_counter, o).remote(0);
    FAIL("no throw");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == troupe::error_kind::name_taken);
  }
}

TEST_CASE("max_concurrency runs methods at the same time") {
  local_cluster cluster;
  troupe::actor_options o;
  o.max_concurrency = 4;
  auto c = troupe::actor(make_counter, o).remote(0);
  std::vector<troupe::object_ref<int>> refs;
  for (int i = 0; i < 4; ++i)
    refs.push_back(c.task(&counter::rendezvous).remote(4));
  for (auto seen : troupe::get(refs, 30s))
    CHECK(seen == 4); // one at a time, the first would give up seeing 1
}

TEST_CASE("an actor's resources are held for its life") {
  local_cluster cluster; // 2 CPUs
  troupe::actor_options o;
  o.num_cpus = 2;
  auto big = troupe::actor(make_counter, o).remote(0);
  CHECK(troupe::get(big.task(&counter::add).remote(1), 30s) == 1);
  troupe::task_options one_cpu;
  auto blocked = troupe::task(make_counter_in_task, one_cpu).remote(1);
  CHECK_THROWS_AS(troupe::get(blocked, 500ms), troupe::timeout_error);
  troupe::kill(big);
  auto h = troupe::get(blocked, 30s); // runs once the actor gave its CPUs back
  CHECK(troupe::get(h.task(&counter::value).remote(), 30s) == 1);
}

namespace {

int slow_square(int x) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return x * x;
}
TROUPE_REMOTE(slow_square);

/// An actor whose method hands work to a task and returns its ref at once.
class dispatcher {
public:
  troupe::object_ref<int> square_later(int x) {
    ++calls_;
    return troupe::task(slow_square).remote(x);
  }
  int calls() const { return calls_; }

private:
  int calls_ = 0;
};

std::unique_ptr<dispatcher> make_dispatcher() {
  return std::make_unique<dispatcher>();
}
TROUPE_REMOTE(make_dispatcher);
TROUPE_REMOTE(&dispatcher::square_later);
TROUPE_REMOTE(&dispatcher::calls);

} // namespace

TEST_CASE("an async method returns a ref without blocking the actor's other calls") {
  local_cluster cluster;
  auto d = troupe::actor(make_dispatcher).remote();
  troupe::object_ref<int> later = d.task(&dispatcher::square_later).remote(7);
  // The actor answers the next call while the task it started still runs.
  CHECK(troupe::get(d.task(&dispatcher::calls).remote(), 30s) == 1);
  CHECK_THROWS_AS(troupe::get(later, 50ms), troupe::timeout_error);
  CHECK(troupe::get(later, 30s) == 49);
}

TEST_CASE("calling a method that was not registered is a clear error") {
  local_cluster cluster;
  auto c = troupe::actor(make_counter).remote(0);
  try {
    c.task(&counter::not_registered);
    FAIL("no throw");
  } catch (const troupe::unknown_function_error& e) {
    CHECK(std::string{e.what()}.find("TROUPE_REMOTE(&") != std::string::npos);
    CHECK(std::string{e.what()}.find("counter") != std::string::npos);
  }
  CHECK(troupe::get(c.task(&counter::add).remote(2), 30s) == 2); // still fine
}
