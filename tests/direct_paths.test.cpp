// Direct paths: a process sends to the processes it calls over a connection
// of its own, not through the node daemons. The proof is a node daemon
// frozen with SIGSTOP: everything relayed through it would stop, but calls
// to actors already reached keep being answered.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <unistd.h>
#include <vector>

#include "tests/cluster_fixture.hpp"
#include "tests/own_status.hpp"
#include "tests/process_helpers.hpp"
#include "tests/rendezvous.hpp"
#include "tests/three_nodes.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;
using troupe::test::own_status;

namespace {

class relay_probe {
public:
  int add(int by) { return total_ += by; }
  /// The node daemon: it started this worker.
  int daemon_pid() const { return static_cast<int>(::getppid()); }
  /// Calls `add(by)` on `other` and returns its answer.
  int add_through(troupe::actor_handle<relay_probe> other, int by) {
    return troupe::get(other.task(&relay_probe::add).remote(by), 5s);
  }

private:
  int total_ = 0;
};

std::unique_ptr<relay_probe> make_relay_probe() {
  return std::make_unique<relay_probe>();
}
TROUPE_REMOTE(make_relay_probe);
TROUPE_REMOTE(&relay_probe::add);
TROUPE_REMOTE(&relay_probe::daemon_pid);
TROUPE_REMOTE(&relay_probe::add_through);

/// Freezes a process for the guard's life (SIGSTOP, then SIGCONT), also
/// when the test fails. Every thread of it has stopped once it is built.
class frozen {
public:
  explicit frozen(int pid) : pid_(pid) { REQUIRE(troupe::test::stop_process(pid_)); }
  ~frozen() { ::kill(pid_, SIGCONT); }
  frozen(const frozen&) = delete;
  frozen& operator=(const frozen&) = delete;

private:
  int pid_;
};

} // namespace

TEST_CASE("calls from the driver reach an actor while its node daemon is frozen") {
  local_cluster cluster;
  auto a = troupe::actor(make_relay_probe).remote();
  auto daemon = troupe::get(a.task(&relay_probe::daemon_pid).remote(), 30s);
  REQUIRE(daemon > 1);
  REQUIRE(daemon != ::getpid());
  frozen stop{daemon};
  // Through the daemon, the first of these would wait for its SIGCONT (and
  // then 5 s later fail with a timeout).
  int total = 0;
  for (int i = 1; i <= 50; ++i) {
    total += i;
    CHECK(troupe::get(a.task(&relay_probe::add).remote(i), 5s) == total);
  }
  auto me = own_status();
  CHECK(me.address.rfind("127.0.0.1:", 0) == 0);
  CHECK(me.direct_peers == 1); // the actor's worker: one connection, kept
}

TEST_CASE("an actor calls another actor straight, while their node daemon is frozen") {
  local_cluster cluster;
  auto a = troupe::actor(make_relay_probe).remote();
  auto b = troupe::actor(make_relay_probe).remote();
  // The first call finds b through the control store and connects to it.
  CHECK(troupe::get(a.task(&relay_probe::add_through).remote(b, 1), 30s) == 1);
  auto daemon = troupe::get(a.task(&relay_probe::daemon_pid).remote(), 30s);
  frozen stop{daemon};
  for (int i = 2; i <= 20; ++i)
    CHECK(troupe::get(a.task(&relay_probe::add_through).remote(b, 1), 5s) == i);
}

TEST_CASE("connections to processes that ended are forgotten") {
  local_cluster cluster;
  std::vector<troupe::actor_handle<relay_probe>> actors;
  for (int i = 0; i < 3; ++i) {
    actors.push_back(troupe::actor(make_relay_probe).remote());
    CHECK(troupe::get(actors.back().task(&relay_probe::add).remote(1), 30s) == 1);
  }
  CHECK(own_status().direct_peers == 3); // one per actor's worker
  for (auto& a : actors)
    troupe::kill(a);
  // Their workers exit; their downs reach the driver over the connections.
  CHECK(troupe::test::eventually([] { return own_status().direct_peers == 0; }, 10s));
  auto fresh = troupe::actor(make_relay_probe).remote();
  CHECK(troupe::get(fresh.task(&relay_probe::add).remote(5), 30s) == 5);
  CHECK(own_status().direct_peers == 1);
}

TEST_CASE("with direct connections turned off, calls go through the node daemon") {
  // The control for the tests above: the same calls wait for a frozen
  // daemon when every message takes the relay.
  ::setenv("TROUPE_DIRECT_CONNECTIONS", "0", 1);
  struct unset {
    ~unset() { ::unsetenv("TROUPE_DIRECT_CONNECTIONS"); }
  } restore;
  local_cluster cluster;
  auto a = troupe::actor(make_relay_probe).remote();
  auto daemon = troupe::get(a.task(&relay_probe::daemon_pid).remote(), 30s);
  auto call = [&] {
    frozen stop{daemon};
    auto r = a.task(&relay_probe::add).remote(1);
    CHECK_THROWS_AS(troupe::get(r, 300ms), troupe::timeout_error);
    return r;
  }();
  // Thawed, the daemon passes the call on.
  CHECK(troupe::get(call, 30s) == 1);
  auto me = own_status();
  CHECK(me.address.empty());
  CHECK(me.direct_peers == 0);
}

TEST_CASE("three nodes: calls cross nodes straight to the actor, while the daemons are frozen") {
  troupe::test::three_nodes c;
  troupe::actor_options on2, on3;
  on2.strategy = troupe::scheduling_strategy::on_node(2);
  on3.strategy = troupe::scheduling_strategy::on_node(3);
  auto a = troupe::actor(make_relay_probe, on2).remote();
  auto b = troupe::actor(make_relay_probe, on3).remote();
  // Driver (node 1) -> a (node 2) -> b (node 3): each first call connects.
  CHECK(troupe::get(a.task(&relay_probe::add_through).remote(b, 1), 30s) == 1);
  CHECK(troupe::get(b.task(&relay_probe::add).remote(1), 30s) == 2);
  // Every daemon stops: no relay is left on any path.
  frozen head{c.head.pid()}, second{c.second->pid()}, third{c.third->pid()};
  for (int i = 3; i <= 12; i += 2) {
    CHECK(troupe::get(a.task(&relay_probe::add_through).remote(b, 1), 5s) == i);
    CHECK(troupe::get(b.task(&relay_probe::add).remote(1), 5s) == i + 1);
  }
}
