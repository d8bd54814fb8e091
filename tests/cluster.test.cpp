// Drivers and nodes as separate processes: connecting to a node started on
// its own, and what is left when a driver is killed.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>

#include "tests/cluster_fixture.hpp"
#include "tests/process_helpers.hpp"
#include "tests/service_actor.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;

namespace {

int triple(int x) { return 3 * x; }
TROUPE_REMOTE(triple);

int pid_of_worker() { return static_cast<int>(::getpid()); }
TROUPE_REMOTE(pid_of_worker);

/// Returns the pids in the names of /dev/shm segments `troupe-PID-*`.
std::set<int> segment_pids() {
  std::set<int> out;
  for (auto& f : std::filesystem::directory_iterator("/dev/shm")) {
    auto name = f.path().filename().string();
    if (name.rfind("troupe-", 0) != 0)
      continue;
    try {
      out.insert(std::stoi(name.substr(7)));
    } catch (...) {
    }
  }
  return out;
}

/// Starts a standalone node (the test executable as node daemon, as
/// `troupe start --head --block` would) and returns its address.
std::string start_node(child_process& node) {
  auto port = node.ready_line();
  REQUIRE_MESSAGE(!port.empty(), "the node daemon did not start");
  return "127.0.0.1:" + port;
}

std::vector<std::string> node_env() {
  return {"TROUPE_ROLE=node", "TROUPE_NUM_CPUS=2",
          "TROUPE_OBJECT_STORE_BYTES=" + std::to_string(64 << 20)};
}

} // namespace

TEST_CASE("a driver connects to a running node, and shutdown leaves the node running") {
  // The node logs into a session folder of its own under TROUPE_LOG_DIR.
  char dir_template[] = "/tmp/troupe-test-logs-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  std::filesystem::path logs{dir_template};
  auto env = node_env();
  env.push_back("TROUPE_LOG_DIR=" + logs.string());
  child_process node{env};
  auto address = start_node(node);
  troupe::init({.address = address});
  CHECK(troupe::get(troupe::task(triple).remote(5), 30s) == 15);
  auto session = logs / "session_latest";
  REQUIRE(std::filesystem::is_symlink(session));
  auto read = [](const std::filesystem::path& p) {
    std::ifstream in{p};
    return std::string{std::istreambuf_iterator<char>(in), {}};
  };
  CHECK(read(session / "node.log").find("node listening on " + address) != std::string::npos);
  int worker_logs = 0;
  for (auto& f : std::filesystem::directory_iterator(session))
    if (f.path().filename().string().rfind("worker-", 0) == 0
        && read(f.path()).find("connected to its node") != std::string::npos)
      ++worker_logs;
  CHECK(worker_logs >= 1);
  auto first_workers = troupe::test::processes_with_env("TROUPE_NODE=" + address);
  REQUIRE(first_workers.size() >= 1);
  troupe::shutdown();
  // The node has dealt with the job's end once the job's workers are gone;
  // it is still there afterwards.
  for (auto pid : first_workers)
    CHECK(troupe::test::gone_within(pid, 10s));
  CHECK(troupe::test::alive(node.pid()));
  // A second driver (job) uses the same node.
  troupe::init({.address = address});
  CHECK(troupe::get(troupe::task(triple).remote(7), 30s) == 21);
  auto workers = troupe::test::processes_with_env("TROUPE_NODE=" + address);
  CHECK(workers.size() >= 1);
  troupe::shutdown();
  // The job's workers go with it; the node stays.
  for (auto pid : workers)
    CHECK(troupe::test::gone_within(pid, 10s));
  CHECK(troupe::test::alive(node.pid()));
  // SIGTERM stops the node and removes its store segment.
  troupe::init({.address = address});
  CHECK(troupe::get(troupe::task(triple).remote(1), 30s) == 3);
  workers = troupe::test::processes_with_env("TROUPE_NODE=" + address);
  REQUIRE(::kill(node.pid(), SIGTERM) == 0);
  CHECK(troupe::test::gone_within(node.pid(), 10s));
  for (auto pid : workers)
    CHECK(troupe::test::gone_within(pid, 10s));
  // A task submitted after its node died fails at once, naming the cause.
  try {
    troupe::get(troupe::task(triple).remote(1), 5s);
    FAIL("no throw");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == troupe::error_kind::node_died);
  }
  troupe::shutdown();
  for (auto& f : std::filesystem::directory_iterator("/dev/shm"))
    CHECK(f.path().filename().string().find("troupe-" + std::to_string(node.pid()))
          == std::string::npos);
  std::filesystem::remove_all(logs);
}

TEST_CASE("init with an address where no node listens fails with a clear error") {
  try {
    troupe::init({.address = "127.0.0.1:1"});
    FAIL("init did not throw");
  } catch (const troupe::error& e) {
    CHECK(std::string{e.what()}.find("127.0.0.1:1") != std::string::npos);
  }
  CHECK_FALSE(troupe::is_initialized());
}

TEST_CASE("a driver killed with SIGKILL takes its embedded node and workers along") {
  child_process driver{{"TROUPE_TEST_SCENARIO=driver_waits"}};
  auto line = driver.ready_line();
  REQUIRE_MESSAGE(line == "ready", "the driver did not start");
  auto spawned = troupe::test::processes_with_env("TROUPE_PARENT_PID="
                                                  + std::to_string(driver.pid()));
  CHECK(spawned.size() >= 3); // the node and its two workers
  REQUIRE(::kill(driver.pid(), SIGKILL) == 0);
  for (auto pid : spawned)
    CHECK_MESSAGE(troupe::test::gone_within(pid, 15s), "process " << pid << " lingers");
}

TEST_CASE("a detached named actor outlives its driver and serves a later one") {
  using troupe::test::service_counter;
  child_process node{node_env()};
  auto address = start_node(node);
  {
    child_process creator{{"TROUPE_TEST_SCENARIO=create_service",
                           "TROUPE_ADDRESS=" + address}};
    REQUIRE(creator.ready_line() == "ready");
    CHECK(troupe::test::gone_within(creator.pid(), 15s));
  }
  troupe::init({.address = address});
  auto svc = troupe::get_actor<service_counter>("svc");
  CHECK(troupe::get(svc.task(&service_counter::add).remote(1), 30s) == 43);
  // The non-detached actor died with its driver, and its name is free again.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    try {
      troupe::get_actor<service_counter>("temp");
      std::this_thread::sleep_for(50ms);
    } catch (const troupe::error& e) {
      gone = e.kind() == troupe::error_kind::no_such_actor;
    }
  }
  CHECK(gone);
  troupe::kill(svc);
  try {
    troupe::get(svc.task(&service_counter::add).remote(1), 30s);
    FAIL("no throw");
  } catch (const troupe::actor_died_error& e) {
    CHECK(e.reason().find("killed") != std::string::npos);
  }
  troupe::shutdown();
}

TEST_CASE("a detached actor whose creator is gone is rebuilt by the head from its kept "
          "creation when its worker dies") {
  using troupe::test::service_counter;
  child_process node{node_env()};
  auto address = start_node(node);
  int worker_pid = 0;
  {
    child_process creator{{"TROUPE_TEST_SCENARIO=create_restartable_service",
                           "TROUPE_ADDRESS=" + address}};
    auto line = creator.ready_line(60s);
    REQUIRE_MESSAGE(line.rfind("pid ", 0) == 0, "the creator said: " << line);
    CHECK(line.find(" total 8") != std::string::npos);
    worker_pid = std::stoi(line.substr(4));
    CHECK(troupe::test::gone_within(creator.pid(), 15s));
  }
  troupe::init({.address = address});
  auto svc = troupe::get_actor<service_counter>("phoenix");
  CHECK(troupe::get(svc.task(&service_counter::add).remote(1), 30s) == 9);
  REQUIRE(::kill(worker_pid, SIGKILL) == 0);
  // A new instance, built by the head from the factory's argument (7). A
  // call that went to the old one fails (no max_task_retries); later calls
  // wait for the new one.
  std::string unexpected;
  int rebuilt_pid = troupe::test::pid_once_rebuilt(svc, 60s, unexpected);
  CHECK_MESSAGE(rebuilt_pid != 0, "no new instance answered: " << unexpected);
  CHECK(rebuilt_pid != worker_pid);
  CHECK(troupe::get(svc.task(&service_counter::restarted).remote(), 30s));
  CHECK(troupe::get(svc.task(&service_counter::add).remote(1), 30s) == 8);
  CHECK(troupe::get_actor<service_counter>("phoenix").id() == svc.id());
  troupe::kill(svc);
  troupe::shutdown();
}

TEST_CASE("a driver that exits without shutdown exits cleanly and leaves nothing") {
  child_process driver{{"TROUPE_TEST_SCENARIO=exit_without_shutdown"}};
  REQUIRE(driver.ready_line() == "ready");
  auto status = troupe::detail::wait_child(driver.pid(), 15000);
  REQUIRE(status >= 0);
  CHECK(troupe::detail::describe_exit(status) == "exited with status 0");
  auto left = troupe::test::processes_with_env("TROUPE_PARENT_PID="
                                               + std::to_string(driver.pid()));
  for (auto pid : left)
    CHECK_MESSAGE(troupe::test::gone_within(pid, 10s), "process " << pid << " lingers");
}

TEST_CASE("refs kept past shutdown release nothing, and a new cluster starts cleanly") {
  // (Under ASan this catches a ref's destructor touching the freed table.)
  std::vector<troupe::object_ref<int>> kept;
  troupe::init(troupe::test::local_cluster::small());
  for (int i = 0; i < 3; ++i)
    kept.push_back(troupe::task(triple).remote(i));
  CHECK(troupe::get(kept, 30s) == std::vector<int>{0, 3, 6});
  troupe::shutdown();
  kept.pop_back(); // after shutdown: a no-op
  troupe::init(troupe::test::local_cluster::small());
  CHECK(troupe::get(troupe::task(triple).remote(7), 30s) == 21);
  kept.clear(); // refs of the old cluster: they must not touch the new one
  CHECK(troupe::get(troupe::task(triple).remote(8), 30s) == 24);
  troupe::shutdown();
}

TEST_CASE("shutdown leaves no node, worker process or shared-memory segment behind") {
  using troupe::test::service_counter;
  troupe::init(troupe::test::local_cluster::small());
  // Two workers busy at once, and an actor in a worker of its own.
  auto a = troupe::task(pid_of_worker).remote();
  auto b = troupe::task(pid_of_worker).remote();
  std::set<int> workers{troupe::get(a, 30s), troupe::get(b, 30s)};
  auto svc = troupe::actor(troupe::test::make_service_counter).remote(1);
  CHECK(troupe::get(svc.task(&service_counter::add).remote(1), 30s) == 2);
  CHECK(troupe::get(troupe::put(std::vector<double>(1 << 20, 1.0)), 30s).size() == 1 << 20);
  auto spawned = troupe::test::processes_with_env("TROUPE_PARENT_PID="
                                                  + std::to_string(::getpid()));
  std::set<int> all(spawned.begin(), spawned.end());
  for (auto pid : workers)
    CHECK_MESSAGE(all.count(pid) == 1, "worker " << pid << " is not among the spawned");
  // The node is the spawned process that owns a store segment.
  std::vector<int> nodes;
  for (auto pid : segment_pids())
    if (all.count(pid))
      nodes.push_back(pid);
  REQUIRE_MESSAGE(nodes.size() == 1, "no store segment of this driver's node");
  CHECK(all.size() >= 4); // the node, two task workers, the actor's
  troupe::shutdown();
  for (auto pid : spawned)
    CHECK_MESSAGE(troupe::test::gone_within(pid, 10s), "process " << pid << " lingers");
  CHECK_MESSAGE(segment_pids().count(nodes[0]) == 0,
                "the store segment of node " << nodes[0] << " is left in /dev/shm");
  CHECK_FALSE(troupe::is_initialized());
}
