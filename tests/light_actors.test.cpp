// Light actors (actor_isolation::shared): many CAF actors in a few actor-host
// worker processes. What only they do is tested here; tests/actors.test.cpp,
// actor_restarts.test.cpp and async.test.cpp run again with every actor light
// (TROUPE_ACTOR_ISOLATION=shared, tests/meson.build).
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "tests/cluster_fixture.hpp"
#include "tests/process_helpers.hpp"
#include "tests/rendezvous.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;

namespace {

class cell {
public:
  explicit cell(int v) : value_(v) {}
  int add(int by) { return value_ += by; }
  int pid() const { return static_cast<int>(::getpid()); }
  bool restarted() const { return troupe::was_current_actor_restarted(); }
  int fail() { throw std::logic_error("cell says no"); }
  int quit() {
    troupe::exit_actor();
    return value_;
  }

private:
  int value_;
};

std::unique_ptr<cell> make_cell(int v) {
  return std::make_unique<cell>(v);
}
TROUPE_REMOTE(make_cell);
TROUPE_REMOTE(&cell::add);
TROUPE_REMOTE(&cell::pid);
TROUPE_REMOTE(&cell::restarted);
TROUPE_REMOTE(&cell::fail);
TROUPE_REMOTE(&cell::quit);

/// Light actor options; a restartable one sends a call lost with its
/// instance again to the next.
troupe::actor_options light(int max_restarts = 0) {
  troupe::actor_options o;
  o.isolation = troupe::actor_isolation::shared;
  o.max_restarts = max_restarts;
  o.max_task_retries = max_restarts;
  return o;
}

/// Returns the number of threads of process `pid`.
std::size_t threads_of(int pid) {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task"))
    ++n;
  return n;
}

/// Returns the pid of each actor, asked all at once.
std::vector<int> pids_of(const std::vector<troupe::actor_handle<cell>>& cells) {
  std::vector<troupe::object_ref<int>> refs;
  for (auto& c : cells)
    refs.push_back(c.task(&cell::pid).remote());
  return troupe::get(refs, 60s);
}

} // namespace

TEST_CASE("light actors share one host process per CPU, each with its own state") {
  local_cluster cluster; // 2 CPUs: 2 hosts
  std::vector<troupe::actor_handle<cell>> cells;
  for (int i = 0; i < 300; ++i)
    cells.push_back(troupe::actor(make_cell, light()).remote(i));
  std::vector<troupe::object_ref<int>> sums;
  for (int i = 0; i < 300; ++i)
    sums.push_back(cells[static_cast<std::size_t>(i)].task(&cell::add).remote(1000));
  auto got = troupe::get(sums, 60s);
  for (int i = 0; i < 300; ++i)
    CHECK(got[static_cast<std::size_t>(i)] == i + 1000);
  std::set<int> hosts;
  for (auto pid : pids_of(cells))
    hosts.insert(pid);
  CHECK(hosts.size() == 2);
  CHECK(hosts.count(static_cast<int>(::getpid())) == 0);
}

TEST_CASE("an idle light actor holds no thread") {
  troupe::init_options o = local_cluster::small();
  o.actor_hosts = 1;
  local_cluster cluster{o};
  std::vector<troupe::actor_handle<cell>> cells;
  for (int i = 0; i < 10; ++i)
    cells.push_back(troupe::actor(make_cell, light()).remote(i));
  auto pid = pids_of(cells).front();
  auto before = threads_of(pid);
  for (int i = 0; i < 1000; ++i)
    cells.push_back(troupe::actor(make_cell, light()).remote(i));
  auto pids = pids_of(cells);
  CHECK(std::set<int>(pids.begin(), pids.end()).size() == 1);
  auto after = threads_of(pid);
  INFO("threads before: " << before << ", after 1000 more actors: " << after);
  CHECK(after <= before + 2); // a process actor each would be 1000 threads
}

TEST_CASE("a light actor's exception fails that call; its host and neighbours go on") {
  troupe::init_options o = local_cluster::small();
  o.actor_hosts = 1;
  local_cluster cluster{o};
  auto a = troupe::actor(make_cell, light()).remote(1);
  auto b = troupe::actor(make_cell, light()).remote(2);
  CHECK_THROWS_AS(troupe::get(a.task(&cell::fail).remote(), 30s), troupe::task_error);
  CHECK(troupe::get(a.task(&cell::add).remote(1), 30s) == 2);
  CHECK(troupe::get(b.task(&cell::add).remote(1), 30s) == 3);
  // One that ends itself, or is killed, leaves the others on its host.
  CHECK(troupe::get(a.task(&cell::quit).remote(), 30s) == 2);
  CHECK_THROWS_AS(troupe::get(a.task(&cell::add).remote(1), 30s), troupe::actor_died_error);
  auto c = troupe::actor(make_cell, light()).remote(3);
  troupe::kill(c);
  CHECK_THROWS_AS(troupe::get(c.task(&cell::add).remote(1), 30s), troupe::actor_died_error);
  CHECK(troupe::get(b.task(&cell::add).remote(1), 30s) == 4);
  CHECK(troupe::get(b.task(&cell::pid).remote(), 30s)
        == troupe::get(troupe::actor(make_cell, light()).remote(0).task(&cell::pid).remote(),
                       30s));
}

TEST_CASE("a host that crashes takes its light actors down; they restart as allowed") {
  local_cluster cluster;
  std::vector<troupe::actor_handle<cell>> cells;
  for (int i = 0; i < 40; ++i)
    cells.push_back(troupe::actor(make_cell, light(i % 2 == 0 ? 1 : 0)).remote(i));
  auto pids = pids_of(cells);
  auto victim = pids[0];
  REQUIRE(::kill(victim, SIGKILL) == 0);
  int restarted = 0, died = 0, untouched = 0;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    auto& c = cells[i];
    if (pids[i] != victim) {
      CHECK(troupe::get(c.task(&cell::add).remote(0), 30s) == static_cast<int>(i));
      ++untouched;
    } else if (i % 2 == 0) {
      // Rebuilt by its factory: its state is the first one again.
      CHECK(troupe::get(c.task(&cell::add).remote(0), 30s) == static_cast<int>(i));
      CHECK(troupe::get(c.task(&cell::restarted).remote(), 30s));
      CHECK(troupe::get(c.task(&cell::pid).remote(), 30s) != victim);
      ++restarted;
    } else {
      try {
        troupe::get(c.task(&cell::add).remote(0), 30s);
        FAIL("a light actor without restarts outlived its host");
      } catch (const troupe::actor_died_error& e) {
        CHECK(e.reason().find("SIGKILL") != std::string::npos);
      }
      ++died;
    }
  }
  INFO("restarted " << restarted << ", died " << died << ", untouched " << untouched);
  CHECK(restarted > 0);
  CHECK(died > 0);
  CHECK(untouched > 0);
}

TEST_CASE("a light actor's CPUs are held on its host until it ends") {
  local_cluster cluster; // 2 CPUs
  auto o = light();
  o.num_cpus = 0.5;
  std::vector<troupe::actor_handle<cell>> four;
  for (int i = 0; i < 4; ++i)
    four.push_back(troupe::actor(make_cell, o).remote(i));
  for (auto& c : four)
    CHECK(troupe::get(c.task(&cell::add).remote(1), 30s) > 0);
  auto fifth = troupe::actor(make_cell, o).remote(10);
  auto waiting = fifth.task(&cell::add).remote(1);
  CHECK_THROWS_AS(troupe::get(waiting, 500ms), troupe::timeout_error);
  troupe::kill(four[0]);
  CHECK(troupe::get(waiting, 30s) == 11); // created once half a CPU came back
}
