// A cluster of three node daemons on loopback, each its own process with its
// own resources: placement by resources and strategies, objects that move
// between nodes, placement groups, and a node killed with SIGKILL.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <future>
#include <memory>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "lib/common/exe_files.hpp"
#include "lib/common/process.hpp"
#include "tests/process_helpers.hpp"
#include "tests/rendezvous.hpp"
#include "tests/service_actor.hpp"
#include "tests/three_nodes.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;
using troupe::test::eventually;
using troupe::test::temp_dir;
using troupe::test::three_nodes;
using troupe::test::node_env;
using troupe::test::on;

namespace {

troupe::node_id where() { return troupe::current_node_id(); }
TROUPE_REMOTE(where);

troupe::node_id where_after(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return troupe::current_node_id();
}
TROUPE_REMOTE(where_after);

/// Writes the file `started` (the test knows it runs), then sleeps.
troupe::node_id where_signalled(std::string started, int ms) {
  troupe::test::write_file(started, std::to_string(troupe::current_node_id()));
  return where_after(ms);
}
TROUPE_REMOTE(where_signalled);

/// 256 Ki ints (1 MiB): large enough for the object store.
std::vector<int> make_block(int seed) {
  std::vector<int> v(256 * 1024);
  std::iota(v.begin(), v.end(), seed);
  return v;
}
TROUPE_REMOTE(make_block);

/// `n` ints counting up: 4n bytes, for pulls of tens of MiB.
std::vector<int> make_ints(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}
TROUPE_REMOTE(make_ints);

std::pair<troupe::node_id, long long> sum_block(const std::vector<int>& v) {
  return {troupe::current_node_id(), std::accumulate(v.begin(), v.end(), 0LL)};
}
TROUPE_REMOTE(sum_block);

long long expected_sum(int seed) {
  auto v = make_block(seed);
  return std::accumulate(v.begin(), v.end(), 0LL);
}

/// Puts a value in the worker's own object table and returns its ref: the
/// worker owns the object.
troupe::object_ref<int> put_here(int x) { return troupe::put(x); }
TROUPE_REMOTE(put_here);

/// An actor that says where it lives.
class locator {
public:
  troupe::node_id node() const { return troupe::current_node_id(); }
};
std::unique_ptr<locator> make_locator() { return std::make_unique<locator>(); }
TROUPE_REMOTE(make_locator);
TROUPE_REMOTE(&locator::node);

} // namespace

TEST_CASE("three nodes: every node is listed, and tasks land where their resources are") {
  three_nodes c;
  auto nodes = troupe::nodes();
  REQUIRE(nodes.size() == 3);
  for (auto& n : nodes) {
    CHECK(n.alive);
    CHECK(n.total.at("CPU") == 2);
  }
  CHECK(nodes[1].total.at("accel") == 1);
  CHECK(troupe::current_node_id() == 1);
  troupe::task_options accel;
  accel.resources = {{"accel", 1}};
  for (int i = 0; i < 3; ++i)
    CHECK(troupe::get(troupe::task(where, accel).remote(), 30s) == 2);
  // More CPU than one node has is fine as long as some node has it...
  auto on_three = on(3);
  CHECK(troupe::get(troupe::task(where, on_three).remote(), 30s) == 3);
  // Memory is a resource each node offers (its RAM less the store).
  troupe::task_options some_memory;
  some_memory.memory = 1e6;
  CHECK(troupe::get(troupe::task(where, some_memory).remote(), 30s) >= 1);
  CHECK(nodes[0].total.at("memory") > 1e6);
  troupe::task_options all_memory;
  all_memory.memory = 1e18;
  CHECK_THROWS_AS(troupe::get(troupe::task(where, all_memory).remote(), 30s),
                  troupe::unschedulable_error);
  // ...and an error naming the nodes when none has.
  troupe::task_options huge;
  huge.num_gpus = 8;
  try {
    troupe::get(troupe::task(where, huge).remote(), 30s);
    FAIL("a task needing 8 GPUs ran");
  } catch (const troupe::unschedulable_error& e) {
    std::string what = e.what();
    INFO(what);
    CHECK(what.find("GPU") != std::string::npos);
    CHECK(what.find("node 3") != std::string::npos);
  }
}

TEST_CASE("three nodes: SPREAD puts one task on each node") {
  three_nodes c;
  troupe::task_options spread;
  spread.strategy = troupe::scheduling_strategy::spread();
  std::vector<troupe::object_ref<troupe::node_id>> refs;
  for (int i = 0; i < 3; ++i)
    refs.push_back(troupe::task(where_after, spread).remote(300));
  std::set<troupe::node_id> used;
  for (auto& r : refs)
    used.insert(troupe::get(r, 30s));
  CHECK(used == std::set<troupe::node_id>{1, 2, 3});
}

TEST_CASE("three nodes: an object made on one node is read on another and by the driver") {
  three_nodes c;
  // Half a CPU each: the idle leases these tasks leave behind can never serve
  // the one-CPU task at the end, which must then be placed by the scheduler.
  auto on3 = on(3), on2 = on(2);
  on3.num_cpus = on2.num_cpus = 0.5;
  auto block = troupe::task(make_block, on3).remote(7);
  auto [node, sum] = troupe::get(troupe::task(sum_block, on2).remote(block), 60s);
  CHECK(node == 2);
  CHECK(sum == expected_sum(7));
  auto local = troupe::get(block, 60s);
  REQUIRE(local.size() == 256 * 1024);
  CHECK(local[0] == 7);
  CHECK(local.back() == 7 + 256 * 1024 - 1);
  // A put on the head, consumed on node 3.
  auto put = troupe::put(make_block(11));
  auto [node3, sum3] = troupe::get(troupe::task(sum_block, on3).remote(put), 60s);
  CHECK(node3 == 3);
  CHECK(sum3 == expected_sum(11));
  // Default placement prefers the node holding the argument (node 3 has a
  // CPU free even while the half-CPU leases above are still held).
  auto [near, near_sum] = troupe::get(troupe::task(sum_block).remote(block), 60s);
  CHECK(near == 3);
  CHECK(near_sum == expected_sum(7));
}

TEST_CASE("three nodes: a STRICT_SPREAD placement group takes one bundle per node") {
  three_nodes c;
  auto pg = troupe::create_placement_group({{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}},
                                           troupe::placement_strategy::strict_spread);
  REQUIRE(pg.wait(30s));
  auto nodes = pg.bundle_nodes();
  CHECK(std::set<troupe::node_id>(nodes.begin(), nodes.end())
        == std::set<troupe::node_id>{1, 2, 3});
  for (std::int32_t i = 0; i < 3; ++i) {
    troupe::task_options in_bundle;
    in_bundle.strategy = troupe::scheduling_strategy::in_group(pg, i);
    CHECK(troupe::get(troupe::task(where, in_bundle).remote(), 30s) == nodes[i]);
  }
  auto too_wide = troupe::create_placement_group(
    {{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}},
    troupe::placement_strategy::strict_spread);
  CHECK_THROWS_AS(too_wide.wait(10s), troupe::unschedulable_error);
  // Removing the group gives its bundles' CPUs back: a task needing both
  // CPUs of node 2 waits while a bundle holds one, and runs once it is gone.
  troupe::task_options whole_node = on(2);
  whole_node.num_cpus = 2;
  auto needs_all = troupe::task(where, whole_node).remote();
  CHECK(troupe::wait(std::vector{needs_all}, 1, 500ms).ready.empty());
  troupe::remove_placement_group(pg);
  CHECK(troupe::get(needs_all, 30s) == 2);
}

TEST_CASE("three nodes: a node killed with SIGKILL is dead, and its objects and tasks fail") {
  three_nodes c;
  auto on3 = on(3);
  auto block = troupe::task(make_block, on3).remote(5);
  REQUIRE(troupe::wait(std::vector{block}, 1, 60s).ready.size() == 1);
  temp_dir dir;
  auto started = dir / "started";
  auto running = troupe::task(where_signalled, on3).remote(started, 60000);
  REQUIRE_MESSAGE(troupe::test::file_appears(started, 30s), "the task never started");
  CHECK(troupe::test::read_file(started) == "3");
  ::kill(c.third->pid(), SIGKILL);
  CHECK(eventually(
    [] {
      auto nodes = troupe::nodes();
      return nodes.size() == 3 && !nodes[2].alive && nodes[0].alive && nodes[1].alive;
    },
    10s));
  try {
    troupe::get(running, 30s);
    FAIL("a task on the dead node finished");
  } catch (const troupe::error& e) {
    INFO(e.what());
    CHECK(e.kind() == troupe::error_kind::node_died);
  }
  try {
    troupe::get(block, 30s);
    FAIL("an object of the dead node was read");
  } catch (const troupe::error& e) {
    std::string what = e.what();
    INFO(what);
    CHECK(e.kind() == troupe::error_kind::object_lost);
    CHECK(what.find("node 3") != std::string::npos);
  }
  // The others go on serving.
  troupe::task_options accel;
  accel.resources = {{"accel", 1}};
  CHECK(troupe::get(troupe::task(where, accel).remote(), 30s) == 2);
}

TEST_CASE("three nodes: a frozen node is marked dead, its task fails, and SIGCONT brings "
          "nothing back") {
  three_nodes c;
  auto pid = c.third->pid();
  // Whatever happens below, the node is resumed and killed, never left
  // stopped (unless it was seen gone and reaped: its pid may be reused).
  struct resume_and_kill {
    int pid;
    bool reaped = false;
    ~resume_and_kill() {
      if (reaped)
        return;
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
    }
  } cleanup{pid};
  temp_dir dir;
  auto started = dir / "started";
  auto running = troupe::task(where_signalled, on(3)).remote(started, 60000);
  REQUIRE_MESSAGE(troupe::test::file_appears(started, 30s), "the task never started");
  // SIGSTOP keeps its connections open: only the heartbeat reveals it.
  REQUIRE(::kill(pid, SIGSTOP) == 0);
  auto third_dead = [] {
    auto nodes = troupe::nodes();
    return nodes.size() == 3 && !nodes[2].alive && nodes[0].alive && nodes[1].alive;
  };
  CHECK(eventually(third_dead, 30s));
  auto fails_with_node_died = [&] {
    try {
      troupe::get(running, 30s);
      FAIL("a task on the frozen node finished");
    } catch (const troupe::error& e) {
      INFO(e.what());
      CHECK(e.kind() == troupe::error_kind::node_died);
    }
  };
  fails_with_node_died();
  // Resumed, the node finds itself cut off from its head and stops; it does
  // not come back as alive, nor as a new node, and the task stays failed.
  REQUIRE(::kill(pid, SIGCONT) == 0);
  cleanup.reaped = troupe::test::gone_within(pid, 30s);
  CHECK_MESSAGE(cleanup.reaped, "the resumed node keeps running");
  CHECK(third_dead());
  fails_with_node_died();
  // The others go on serving.
  CHECK(troupe::get(troupe::task(where, on(2)).remote(), 30s) == 2);
}

TEST_CASE("three nodes: a ref owned by a worker of a dead node fails with a named error") {
  three_nodes c;
  auto on3 = on(3);
  auto inner = troupe::get(troupe::task(put_here, on3).remote(5), 30s);
  ::kill(c.third->pid(), SIGKILL);
  REQUIRE(eventually([] { return !troupe::nodes()[2].alive; }, 10s));
  try {
    troupe::get(inner, 30s);
    FAIL("a value owned by a process of the dead node was read");
  } catch (const troupe::timeout_error&) {
    FAIL("the get hung instead of failing");
  } catch (const troupe::error& e) {
    INFO(e.what());
    CHECK((e.kind() == troupe::error_kind::owner_died
           || e.kind() == troupe::error_kind::object_lost));
  }
}

TEST_CASE("three nodes: an object outlives its node when another node has a copy") {
  three_nodes c;
  auto on3 = on(3), on2 = on(2);
  auto block = troupe::task(make_block, on3).remote(9);
  // Node 2 reads it, and keeps a copy in its store.
  auto [node, sum] = troupe::get(troupe::task(sum_block, on2).remote(block), 60s);
  REQUIRE(node == 2);
  ::kill(c.third->pid(), SIGKILL);
  REQUIRE(eventually([] { return !troupe::nodes()[2].alive; }, 10s));
  // The driver's node pulls it from node 2 (the object directory knows the
  // copy) instead of from dead node 3.
  auto local = troupe::get(block, 60s);
  REQUIRE(local.size() == 256 * 1024);
  CHECK(local[0] == 9);
  CHECK(std::accumulate(local.begin(), local.end(), 0LL) == sum);
}

TEST_CASE("three nodes: a pull whose source is killed meanwhile ends, and leaves no "
          "partial copy behind") {
  three_nodes c;
  constexpr int n = 10 << 20; // 40 MiB of the driver's node's 64 MiB store
  auto big = troupe::task(make_ints, on(3)).remote(n);
  REQUIRE(troupe::wait(std::vector{big}, 1, 60s).ready.size() == 1);
  // The kill lands somewhere in the pull (node 1 reads it over node 3's data
  // channel): before, during or after the bytes move.
  auto outcome = std::async(std::launch::async, [&]() -> std::string {
    try {
      auto v = troupe::get(big, 60s);
      return v.size() == n && v[n - 1] == n - 1 ? "whole" : "wrong";
    } catch (const troupe::timeout_error&) {
      return "hung";
    } catch (const troupe::error& e) {
      return "failed";
    }
  });
  ::kill(c.third->pid(), SIGKILL);
  auto got = outcome.get();
  MESSAGE("the pull ended: " << got);
  CHECK((got == "whole" || got == "failed"));
  // Node 1's store has room for another 40 MiB copy: a partial one was freed
  // (a whole one is evicted).
  auto other = troupe::task(make_ints, on(2)).remote(n);
  auto v = troupe::get(other, 60s);
  CHECK(v.size() == n);
  CHECK(v[12345] == 12345);
}

TEST_CASE("three nodes: actors are placed by their resources and strategies") {
  three_nodes c;
  troupe::actor_options accel;
  accel.resources = {{"accel", 1}};
  auto a = troupe::actor(make_locator, accel).remote();
  CHECK(troupe::get(a.task(&locator::node).remote(), 30s) == 2);
  troupe::actor_options spread;
  spread.strategy = troupe::scheduling_strategy::spread();
  std::vector<troupe::actor_handle<locator>> spread_out;
  for (int i = 0; i < 3; ++i)
    spread_out.push_back(troupe::actor(make_locator, spread).remote());
  std::set<troupe::node_id> used;
  for (auto& h : spread_out)
    used.insert(troupe::get(h.task(&locator::node).remote(), 30s));
  CHECK(used == std::set<troupe::node_id>{1, 2, 3});
  // Node affinity puts an actor on the node named, not near its creator
  // (node 1).
  for (troupe::node_id n : {3, 2, 1}) {
    troupe::actor_options pinned;
    pinned.strategy = troupe::scheduling_strategy::on_node(n);
    auto h = troupe::actor(make_locator, pinned).remote();
    CHECK(troupe::get(h.task(&locator::node).remote(), 30s) == n);
  }
  // The accel actor holds its resource: a task needing it waits for it...
  troupe::task_options needs_accel;
  needs_accel.resources = {{"accel", 1}};
  auto waiting = troupe::task(where, needs_accel).remote();
  CHECK(troupe::wait(std::vector{waiting}, 1, 500ms).ready.empty());
  // ...and gets it once the actor is killed.
  troupe::kill(a);
  CHECK(troupe::get(waiting, 30s) == 2);
}

TEST_CASE("three nodes: drivers on different nodes share named actors") {
  three_nodes c;
  troupe::actor_options o;
  o.name = "svc";
  o.strategy = troupe::scheduling_strategy::on_node(3);
  auto svc = troupe::actor(troupe::test::make_service_counter, o).remote(1);
  CHECK(troupe::get(svc.task(&troupe::test::service_counter::add).remote(1), 30s) == 2);
  auto actors_node = troupe::nodes()[1].address; // the second driver joins via node 2
  child_process other{{"TROUPE_TEST_SCENARIO=use_service", "TROUPE_ADDRESS=" + actors_node}};
  CHECK(other.ready_line(60s) == "node 2 got 102 and 15");
  // Both drivers' calls reached the one instance, in order.
  CHECK(troupe::get(svc.task(&troupe::test::service_counter::add).remote(0), 30s) == 102);
}

TEST_CASE("nodes that lack the driver's executable fetch it from the driver by hash") {
  char dir_template[] = "/tmp/troupe-exe-test-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  std::filesystem::path dir{dir_template};
  auto cache = dir / "cache";
  auto copy = dir / "driver";
  std::filesystem::copy_file(troupe::detail::self_exe(), copy);
  std::filesystem::permissions(copy, std::filesystem::perms::owner_all);
  {
    auto env = [&](const std::string& head) {
      auto e = node_env("1", "", head);
      e.push_back("TROUPE_EXE_CACHE=" + cache.string());
      return e;
    };
    child_process head{env("")};
    auto address = "127.0.0.1:" + head.ready_line();
    child_process second{env(address)};
    REQUIRE_MESSAGE(!second.ready_line().empty(), "node 2 did not join");
    // The driver removes its own executable once connected.
    child_process driver{{"TROUPE_TEST_SCENARIO=exe_fetch", "TROUPE_ADDRESS=" + address},
                         copy.string()};
    CHECK(driver.ready_line(60s) == "ran on 2 1");
    CHECK_FALSE(std::filesystem::exists(copy));
    int cached = 0;
    for (auto& f : std::filesystem::directory_iterator(cache))
      cached += f.path().filename().string().size() == 64; // a SHA-256 in hex
    CHECK(cached == 1);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("three nodes: copies pulled from other nodes make room when a store is full") {
  three_nodes c; // 64 MiB stores
  // Node 3 reads 12 objects of 4 MB made on node 2: its store caches the
  // copies (48 MB of its 64).
  for (int i = 0; i < 12; ++i) {
    auto block = troupe::task(make_ints, on(2)).remote(1 << 20);
    REQUIRE(troupe::get(troupe::task(sum_block, on(3)).remote(block), 60s).second
            == (1LL << 20) * ((1 << 20) - 1) / 2);
  }
  // A task there makes 32 MB: the copies nobody reads make room for it.
  auto big = troupe::task(make_ints, on(3)).remote(8 << 20);
  CHECK(troupe::get(troupe::task(sum_block, on(3)).remote(big), 60s).second
        == (8LL << 20) * ((8 << 20) - 1) / 2);
}
