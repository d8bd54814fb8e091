// Integration tests start real clusters whose workers run this executable:
// serve_if_spawned() turns such a process into a worker before doctest runs.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>
#include <unistd.h>

#include "tests/service_actor.hpp"
#include "lib/common/exe_files.hpp"
#include "lib/core/client.hpp"
#include "troupe/troupe.hpp"

using troupe::test::make_service_counter;
using troupe::test::service_counter;
TROUPE_REMOTE(make_service_counter);
TROUPE_REMOTE(&service_counter::add);
TROUPE_REMOTE(&service_counter::pid);
TROUPE_REMOTE(&service_counter::restarted);

namespace {

int triple_for_scenario(int x) { return 3 * x; }
TROUPE_REMOTE(triple_for_scenario);

void say_ready() {
  auto fd = std::stoi(std::getenv("TROUPE_READY_FD"));
  [[maybe_unused]] auto n = ::write(fd, "ready\n", 6);
}

/// Scenarios that tests run in a child process of this executable.
void run_scenario(const std::string& name) {
  if (name == "driver_waits") {
    // A driver with an embedded cluster that waits to be killed.
    troupe::init({.num_cpus = 2, .object_store_memory = 64 << 20});
    troupe::get(troupe::task(triple_for_scenario).remote(1));
    say_ready();
    for (;;)
      ::pause();
  }
  if (name == "hold_store_bytes") {
    // A driver (TROUPE_ADDRESS) whose job holds TROUPE_TEST_BYTES in its
    // node's store, and waits to be killed.
    troupe::init();
    auto bytes = std::stoull(std::getenv("TROUPE_TEST_BYTES"));
    auto ref = troupe::put(std::vector<std::uint8_t>(bytes, 9));
    auto line = "held job " + std::to_string(troupe::detail::client::get().job_id()) + "\n";
    auto fd = std::stoi(std::getenv("TROUPE_READY_FD"));
    [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
    for (;;)
      ::pause();
  }
  if (name == "exit_without_shutdown") {
    troupe::init({.num_cpus = 2, .object_store_memory = 64 << 20});
    troupe::get(troupe::task(triple_for_scenario).remote(1));
    say_ready();
    std::exit(0); // no shutdown(): atexit does it
  }
  if (name == "create_service") {
    // A driver (TROUPE_ADDRESS) that leaves a detached named actor behind,
    // and a non-detached one that dies with it.
    troupe::init();
    troupe::actor_options o;
    o.name = "svc";
    o.detached = true;
    auto svc = troupe::actor(make_service_counter, o).remote(41);
    troupe::get(svc.task(&service_counter::add).remote(1));
    o.name = "temp";
    o.detached = false;
    auto temp = troupe::actor(make_service_counter, o).remote(0);
    troupe::get(temp.task(&service_counter::add).remote(1));
    say_ready();
    troupe::shutdown();
    std::_Exit(0);
  }
  if (name == "create_restartable_service") {
    // A driver (TROUPE_ADDRESS) that leaves behind a detached named actor
    // that may restart, made from an argument, and goes: when the actor's
    // worker dies, the head must rebuild it without its creator.
    troupe::init();
    troupe::actor_options o;
    o.name = "phoenix";
    o.detached = true;
    o.max_restarts = 2;
    if (auto* r = std::getenv("TROUPE_TEST_ACTOR_RESOURCE"))
      o.resources = {{r, 0.5}}; // to place it on a node that has it
    auto svc = troupe::actor(make_service_counter, o).remote(7);
    auto total = troupe::get(svc.task(&service_counter::add).remote(1));
    auto pid = troupe::get(svc.task(&service_counter::pid).remote());
    auto line = "pid " + std::to_string(pid) + " total " + std::to_string(total) + "\n";
    auto fd = std::stoi(std::getenv("TROUPE_READY_FD"));
    [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
    troupe::shutdown();
    std::_Exit(0);
  }
  if (name == "use_service") {
    // A second driver (TROUPE_ADDRESS: any node) that finds the named actor
    // "svc" of another driver, calls it, and runs a task of its own.
    troupe::init();
    auto svc = troupe::get_actor<service_counter>("svc");
    auto value = troupe::get(svc.task(&service_counter::add).remote(100));
    auto tripled = troupe::get(troupe::task(triple_for_scenario).remote(5));
    auto line = "node " + std::to_string(troupe::current_node_id()) + " got "
                + std::to_string(value) + " and " + std::to_string(tripled) + "\n";
    auto fd = std::stoi(std::getenv("TROUPE_READY_FD"));
    [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
    troupe::shutdown();
    std::_Exit(0);
  }
  if (name == "exe_fetch") {
    // A driver whose executable is gone once it runs: the nodes must fetch
    // it by hash to start workers. Reports where its tasks ran.
    troupe::init();
    auto exe = troupe::detail::job_exe();
    std::filesystem::remove(exe);
    std::string line = "ran on";
    for (troupe::node_id node : {2, 1}) {
      troupe::task_options on;
      on.strategy = troupe::scheduling_strategy::on_node(node);
      if (troupe::get(troupe::task(triple_for_scenario, on).remote(node)) == 3 * int(node))
        line += " " + std::to_string(node);
    }
    line += "\n";
    auto fd = std::stoi(std::getenv("TROUPE_READY_FD"));
    [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
    troupe::shutdown();
    std::_Exit(0);
  }
  if (name == "try_driver") {
    // A driver with whatever token or mode its environment gives it: says
    // "connected N" when a task ran, or "refused: WHY".
    std::string line;
    try {
      troupe::init();
      line = "connected " + std::to_string(troupe::get(
                              troupe::task(triple_for_scenario).remote(5)));
    } catch (const std::exception& e) {
      line = std::string{"refused: "} + e.what();
    }
    line += "\n";
    auto fd = std::stoi(std::getenv("TROUPE_READY_FD"));
    [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
    std::_Exit(0);
  }
  std::_Exit(99);
}

} // namespace

int main(int argc, char** argv) {
  troupe::serve_if_spawned();
  if (auto* s = std::getenv("TROUPE_TEST_SCENARIO"))
    run_scenario(s);
  doctest::Context ctx;
  ctx.applyCommandLine(argc, argv);
  return ctx.run();
}
