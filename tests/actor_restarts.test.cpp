// Actor restarts: an actor whose process crashed or was killed, or whose
// node died, is rebuilt by its factory under the same id, name and handles
// (max_restarts); calls lost with it are sent again (max_task_retries).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include "tests/cluster_fixture.hpp"
#include "tests/rendezvous.hpp"
#include "tests/three_nodes.hpp"

using namespace std::chrono_literals;
using troupe::test::count_files;
using troupe::test::eventually;
using troupe::test::file_appears;
using troupe::test::local_cluster;
using troupe::test::temp_dir;
using troupe::test::write_file;

namespace {

/// Names one build: the process and the how-many-th build in it (light
/// actors share a process, so a rebuild may run in the same one).
std::string next_build_name() {
  static std::atomic<int> builds{0};
  return std::to_string(::getpid()) + "-" + std::to_string(++builds);
}

/// Counts its builds in `dir` (a file per factory run) and says where it
/// runs and whether it was rebuilt.
class phoenix {
public:
  phoenix(std::string dir, std::string build) : dir_(std::move(dir)), build_(std::move(build)) {}
  int pid() const { return static_cast<int>(::getpid()); }
  std::string build() const { return build_; }
  troupe::node_id node() const { return troupe::current_node_id(); }
  bool restarted() const { return troupe::was_current_actor_restarted(); }
  int add(int by) { return total_ += by; }
  /// Writes `dir/call-PID`, waits (up to 30 s) for `dir/go`, returns 2x.
  int slow_double(int x) {
    write_file(dir_ + "/call-" + std::to_string(::getpid()), "");
    file_appears(dir_ + "/go", 30s);
    return 2 * x;
  }

private:
  std::string dir_;
  std::string build_;
  int total_ = 0;
};

std::unique_ptr<phoenix> make_phoenix(std::string dir) {
  auto build = next_build_name();
  write_file(dir + "/build-" + build, "");
  return std::make_unique<phoenix>(dir, build);
}
TROUPE_REMOTE(make_phoenix);
TROUPE_REMOTE(&phoenix::pid);
TROUPE_REMOTE(&phoenix::build);
TROUPE_REMOTE(&phoenix::node);
TROUPE_REMOTE(&phoenix::restarted);
TROUPE_REMOTE(&phoenix::add);
TROUPE_REMOTE(&phoenix::slow_double);

std::unique_ptr<phoenix> make_failing_phoenix(std::string dir) {
  write_file(dir + "/build-" + next_build_name(), "");
  throw std::runtime_error("no config");
}
TROUPE_REMOTE(make_failing_phoenix);

/// Kills its own worker while it builds: on every build, or (`once`) on the
/// first only.
std::unique_ptr<phoenix> make_crashing_phoenix(std::string dir, bool once) {
  auto build = next_build_name();
  write_file(dir + "/build-" + build, "");
  if (!once || count_files(dir, "build-") == 1)
    ::raise(SIGKILL);
  return std::make_unique<phoenix>(dir, build);
}
TROUPE_REMOTE(make_crashing_phoenix);

using handle = troupe::actor_handle<phoenix>;

int pid_of(const handle& a) { return troupe::get(a.task(&phoenix::pid).remote(), 30s); }

/// Expects `get(r)` to fail with actor_died_error whose reason holds `text`.
template <class R>
void dies_with(const R& r, const std::string& text) {
  try {
    troupe::get(r, 30s);
    FAIL("no throw");
  } catch (const troupe::actor_died_error& e) {
    INFO(e.what());
    CHECK(e.reason().find(text) != std::string::npos);
  }
}

} // namespace

TEST_CASE("an actor killed with SIGKILL is rebuilt under its name and handles, until "
          "max_restarts is used up") {
  local_cluster cluster;
  temp_dir dir;
  auto a = troupe::actor(make_phoenix, {.name = "svc", .max_restarts = 1,
                                        .max_task_retries = -1})
             .remote(dir.str());
  CHECK(troupe::get(a.task(&phoenix::add).remote(5), 30s) == 5);
  CHECK_FALSE(troupe::get(a.task(&phoenix::restarted).remote(), 30s));
  auto first = pid_of(a);
  REQUIRE(::kill(first, SIGKILL) == 0);
  // The same handle reaches the rebuilt actor: its state is the factory's.
  CHECK(troupe::get(a.task(&phoenix::add).remote(1), 30s) == 1);
  CHECK(troupe::get(a.task(&phoenix::restarted).remote(), 30s));
  auto second = pid_of(a);
  CHECK(second != first);
  CHECK(count_files(dir.str(), "build-") == 2);
  // So does a handle looked up by its name.
  auto named = troupe::get_actor<phoenix>("svc");
  CHECK(pid_of(named) == second);
  // Its one restart is used: the next crash is its end.
  REQUIRE(::kill(second, SIGKILL) == 0);
  dies_with(a.task(&phoenix::pid).remote(), "max_restarts used up");
  CHECK(count_files(dir.str(), "build-") == 2);
}

TEST_CASE("a call in flight when the actor dies fails saying it restarts (max_task_retries "
          "0); calls after it reach the rebuilt actor") {
  local_cluster cluster;
  temp_dir dir;
  auto a = troupe::actor(make_phoenix, {.max_restarts = 1}).remote(dir.str());
  auto first = pid_of(a);
  auto in_flight = a.task(&phoenix::slow_double).remote(4);
  REQUIRE(eventually([&] { return count_files(dir.str(), "call-") == 1; }, 30s));
  REQUIRE(::kill(first, SIGKILL) == 0);
  dies_with(in_flight, "restarting it (restart 1 of 1)");
  CHECK(pid_of(a) != first);
}

TEST_CASE("max_task_retries sends a call lost with its instance to the rebuilt one") {
  local_cluster cluster;
  temp_dir dir;
  auto a = troupe::actor(make_phoenix, {.max_restarts = 1, .max_task_retries = 1})
             .remote(dir.str());
  auto first = pid_of(a);
  auto in_flight = a.task(&phoenix::slow_double).remote(21);
  REQUIRE(eventually([&] { return count_files(dir.str(), "call-") == 1; }, 30s));
  REQUIRE(::kill(first, SIGKILL) == 0);
  REQUIRE_MESSAGE(eventually([&] { return count_files(dir.str(), "call-") == 2; }, 30s),
                  "the call was not sent again");
  write_file(dir / "go", "");
  CHECK(troupe::get(in_flight, 30s) == 42);
  CHECK(count_files(dir.str(), "call-") == 2);
}

TEST_CASE("kill with no_restart = false lets the actor restart; kill by default ends it") {
  local_cluster cluster;
  temp_dir dir;
  auto a = troupe::actor(make_phoenix, {.max_restarts = -1, .max_task_retries = -1})
             .remote(dir.str());
  auto build_of = [&] { return troupe::get(a.task(&phoenix::build).remote(), 30s); };
  auto first = build_of();
  troupe::kill(a, {.no_restart = false});
  // The kill is carried out by the node, a moment later: until then the
  // first instance answers. A light actor may be rebuilt in the same host.
  REQUIRE(eventually([&] { return build_of() != first; }, 30s));
  CHECK(troupe::get(a.task(&phoenix::restarted).remote(), 30s));
  troupe::kill(a);
  dies_with(a.task(&phoenix::pid).remote(), "killed by troupe::kill");
  CHECK(count_files(dir.str(), "build-") == 2);
}

TEST_CASE("an actor whose constructor crashes its worker dies saying so (max_restarts 0)") {
  local_cluster cluster;
  temp_dir dir;
  auto a = troupe::actor(make_crashing_phoenix).remote(dir.str(), false);
  dies_with(a.task(&phoenix::pid).remote(), "its worker died while it was built");
  dies_with(a.task(&phoenix::pid).remote(), "SIGKILL");
  CHECK(count_files(dir.str(), "build-") == 1);
}

TEST_CASE("a constructor that crashed its worker is run again while restarts are left") {
  local_cluster cluster;
  temp_dir dir;
  SUBCASE("it crashes once: the second build serves") {
    auto a = troupe::actor(make_crashing_phoenix, {.max_restarts = 1}).remote(dir.str(), true);
    CHECK(troupe::get(a.task(&phoenix::add).remote(7), 30s) == 7);
    CHECK(troupe::get(a.task(&phoenix::restarted).remote(), 30s));
    CHECK(count_files(dir.str(), "build-") == 2);
  }
  SUBCASE("it always crashes: max_restarts ends it") {
    auto a = troupe::actor(make_crashing_phoenix, {.max_restarts = 2}).remote(dir.str(), false);
    dies_with(a.task(&phoenix::pid).remote(), "max_restarts used up");
    CHECK(count_files(dir.str(), "build-") == 3);
  }
}

TEST_CASE("an actor whose constructor throws is not rebuilt") {
  local_cluster cluster;
  temp_dir dir;
  auto a = troupe::actor(make_failing_phoenix, {.max_restarts = 3}).remote(dir.str());
  dies_with(a.task(&phoenix::pid).remote(), "no config");
  CHECK(count_files(dir.str(), "build-") == 1);
}

TEST_CASE("three nodes: an actor whose node dies is rebuilt on another node") {
  troupe::test::three_nodes c;
  temp_dir dir;
  troupe::actor_options o{.max_restarts = 1, .max_task_retries = -1};
  o.strategy = troupe::scheduling_strategy::on_node(3, true);
  auto a = troupe::actor(make_phoenix, o).remote(dir.str());
  CHECK(troupe::get(a.task(&phoenix::node).remote(), 30s) == 3);
  REQUIRE(::kill(c.third->pid(), SIGKILL) == 0);
  // Its worker outlives the node daemon by a moment (it ends once it sees
  // the daemon gone), and answers the calls that reach it meanwhile.
  CHECK(eventually([&] { return troupe::get(a.task(&phoenix::node).remote(), 30s) != 3; },
                   30s));
  CHECK(troupe::get(a.task(&phoenix::restarted).remote(), 30s));
}
