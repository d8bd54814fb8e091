// Integration tests start real clusters whose workers run this executable:
// serve_if_spawned() turns such a process into a worker before doctest runs.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <unistd.h>

#include "troupe/troupe.hpp"

namespace {

int triple_for_scenario(int x) { return 3 * x; }
TROUPE_REMOTE(triple_for_scenario);

/// Scenarios that tests run in a child process of this executable.
void run_scenario(const std::string& name) {
  if (name == "driver_waits") {
    // A driver with an embedded cluster that waits to be killed.
    troupe::init({.num_cpus = 2, .object_store_memory = 64 << 20});
    troupe::get(troupe::task(triple_for_scenario).remote(1));
    auto fd = std::stoi(std::getenv("TROUPE_READY_FD"));
    [[maybe_unused]] auto n = ::write(fd, "ready\n", 6);
    for (;;)
      ::pause();
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
