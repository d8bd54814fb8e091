#include "tools/bench_cluster.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <troupe/troupe.hpp>

#include "lib/common/process.hpp"
#include "tools/bench_objects.hpp"
#include "tools/bench_support.hpp"

namespace troupe::tools::bench {

namespace {

/// Keeps a second node daemon for the cross-node figure when the cluster has
/// only one: a child of this process that joins the head, stopped after.
class extra_node {
public:
  extra_node() {
    auto nodes = troupe::nodes();
    if (std::count_if(nodes.begin(), nodes.end(), [](auto& n) { return n.alive; }) > 1)
      return;
    pid_ = detail::spawn_process(
        detail::self_exe(), {"--troupe-node"},
        {"TROUPE_ROLE=node", "TROUPE_NUM_CPUS=1",
         "TROUPE_HEAD_ADDRESS=" + nodes.front().address,
         "TROUPE_OBJECT_STORE_BYTES=" + std::to_string(1ULL << 30), "TROUPE_READY_FD=-1",
         "TROUPE_PORT=0", "TROUPE_BIND=127.0.0.1",
         "TROUPE_RESOURCES=", "TROUPE_WORKER_EXE="});
    auto until = clock_type::now() + std::chrono::seconds(20);
    while (troupe::nodes().size() <= nodes.size()) {
      if (clock_type::now() > until)
        throw std::runtime_error("the extra node for the cross-node figure did not join");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~extra_node() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGTERM);
    if (detail::wait_child(pid_, 5000) < 0) {
      ::kill(pid_, SIGKILL);
      detail::wait_child(pid_, 2000);
    }
  }
  extra_node(const extra_node&) = delete;
  extra_node& operator=(const extra_node&) = delete;

private:
  int pid_ = -1;
};

} // namespace

/// A 400 MB array made by a task on another node, got by the driver: this
/// node's store manager pulls it in chunks from the other's.
void cross_node_put_get(const bench_config& cfg, bench_samples& out) {
  extra_node extra;
  auto here = troupe::current_node_id();
  troupe::node_id there = 0;
  for (auto& n : troupe::nodes())
    if (n.alive && n.id != here)
      there = n.id;
  check(there != 0, "a second alive node");
  troupe::task_options on_there;
  on_there.strategy = troupe::scheduling_strategy::on_node(there);
  on_there.num_cpus = 0;
  auto n = cfg.big_bytes / sizeof(double);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto ref = troupe::task(bench_ones, on_there).remote(std::uint64_t{n});
    check(troupe::wait(std::vector{ref}, 1, cfg.timeout).ready.size() == 1,
          "the array was made in time");
    auto t0 = clock_type::now();
    auto view = troupe::get_view(ref);
    auto took = seconds_since(t0);
    check(view.size() == n && view[n - 1] == 1.0, "the array arrived whole");
    out["cross_node_put_get_gigabytes"].push_back(
        static_cast<double>(n * sizeof(double)) / took / 1e9);
  }
}

/// Creates, waits for and removes one-bundle placement groups.
void placement_groups(const bench_config& cfg, bench_samples& out) {
  auto per_round = cfg.pick(200, 50);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    for (int i = 0; i < per_round; ++i) {
      auto pg = troupe::create_placement_group({{{"CPU", 1}}});
      check(pg.wait(cfg.timeout), "the placement group was placed");
      troupe::remove_placement_group(pg);
    }
    out["placement_group_create_removal"].push_back(per_round / seconds_since(t0));
  }
}

} // namespace troupe::tools::bench

namespace troupe::tools {

void measure_first_put(const bench_config& cfg, bench_samples& out) {
  auto n = cfg.big_bytes / sizeof(double);
  auto bytes = static_cast<double>(n * sizeof(double));
  for (int r = 0; r < cfg.pick(3, 2); ++r) {
    troupe::init_options options;
    options.object_store_memory = 2ULL << 30; // as the main cluster's
    troupe::init(options);
    double took = 0;
    try {
      // Made after init, as by a program that calls init at the top of
      // main (its documented place), then puts what it computed.
      std::vector<double> big(n, 1.0);
      auto t0 = bench::clock_type::now();
      auto ref = troupe::put(big);
      took = bench::seconds_since(t0);
    } catch (...) {
      troupe::shutdown();
      throw;
    }
    troupe::shutdown();
    out["first_put_gigabytes"].push_back(bytes / took / 1e9);
  }
}

} // namespace troupe::tools
