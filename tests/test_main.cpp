// Integration tests start real clusters whose workers run this executable:
// serve_if_spawned() turns such a process into a worker before doctest runs.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "troupe/runtime.hpp"

int main(int argc, char** argv) {
  troupe::serve_if_spawned();
  doctest::Context ctx;
  ctx.applyCommandLine(argc, argv);
  return ctx.run();
}
