#pragma once

// A cluster of three node daemons on loopback, each its own process, with
// the test process as the driver connected to the head.

#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/process_helpers.hpp"
#include "troupe/troupe.hpp"

namespace troupe::test {

inline std::vector<std::string> node_env(const std::string& cpus,
                                         const std::string& resources,
                                         const std::string& head) {
  return {"TROUPE_ROLE=node", "TROUPE_NUM_CPUS=" + cpus, "TROUPE_RESOURCES=" + resources,
          "TROUPE_HEAD_ADDRESS=" + head,
          "TROUPE_OBJECT_STORE_BYTES=" + std::to_string(64 << 20)};
}

/// Returns task options that run a task on node `node` only, once: a
/// failure is not retried (retries.test.cpp covers retries).
inline troupe::task_options on(troupe::node_id node) {
  troupe::task_options o;
  o.strategy = troupe::scheduling_strategy::on_node(node);
  o.max_retries = 0;
  return o;
}

/// Head (node 1: 2 CPUs), node 2 (2 CPUs and one `accel`), node 3 (2 CPUs);
/// the test process is the driver, connected to the head.
struct three_nodes {
  child_process head{node_env("2", "", "")};
  std::string address;
  std::unique_ptr<child_process> second, third;

  three_nodes() {
    auto port = head.ready_line();
    REQUIRE_MESSAGE(!port.empty(), "the head did not start");
    address = "127.0.0.1:" + port;
    // One after the other, so that the ids are 2 and 3.
    second = std::make_unique<child_process>(node_env("2", "accel=1", address));
    REQUIRE_MESSAGE(!second->ready_line().empty(), "node 2 did not join");
    third = std::make_unique<child_process>(node_env("2", "", address));
    REQUIRE_MESSAGE(!third->ready_line().empty(), "node 3 did not join");
    troupe::init({.address = address});
  }
  ~three_nodes() { troupe::shutdown(); }
};

} // namespace troupe::test
