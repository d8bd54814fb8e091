#pragma once

// The workloads of `troupe microbenchmark` (BENCHMARKS.md). Each runs
// its own rounds against the cluster `troupe::init` connected to and records
// one sample per round and figure; the caller reports medians.
// The workloads are defined by theme: tools/bench_tasks, bench_objects,
// bench_actors and bench_cluster, on helpers in tools/bench_support.

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace troupe::tools {

/// Figure name -> one value per round.
using bench_samples = std::map<std::string, std::vector<double>>;

/// How hard to push: `--quick` shrinks rounds and sizes.
struct bench_config {
  bool quick = false;
  int rounds = 5;
  /// The longest any `get` may wait: a hang becomes an error, not a stall.
  std::chrono::seconds timeout{30};
  /// Bytes of the big arrays of the put and get throughput figures.
  std::size_t big_bytes = 400'000'000;

  /// Returns `full` or, with `--quick`, `quick`.
  template <class T>
  T pick(T full, T quick_value) const {
    return quick ? quick_value : full;
  }
};

/// One workload: the figures it produces and the function that measures them.
struct bench_workload {
  std::vector<std::string> names;
  void (*run)(const bench_config&, bench_samples&);
};

/// Returns the workloads that need a running cluster, in BENCHMARKS.md order.
const std::vector<bench_workload>& cluster_workloads();

/// Starts the first tasks so that the workers are up before anything is timed.
void warm_up(const bench_config& cfg);

/// Measures `cluster_start_s`: init of a fresh embedded cluster until the
/// first task result, then shutdown. Call while troupe is not initialised.
void measure_cluster_start(const bench_config& cfg, bench_samples& out);

/// Measures `first_put_gigabytes`: a big put right after `init` of a fresh
/// embedded cluster, into a store never written before. Call while troupe is
/// not initialised.
void measure_first_put(const bench_config& cfg, bench_samples& out);

} // namespace troupe::tools
