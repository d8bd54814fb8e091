#pragma once

// What the workloads of `troupe microbenchmark` share: the clock, rates and
// percentiles, the checks of results. The workloads themselves are grouped
// by theme: bench_tasks, bench_objects, bench_actors, bench_cluster.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <troupe/troupe.hpp>

#include "tools/bench_workloads.hpp"

namespace troupe::tools::bench {

using clock_type = std::chrono::steady_clock;
using int_ref = troupe::object_ref<std::int64_t>;

/// How many clients the multi-client figures run at once.
constexpr int num_clients = 4;

/// Clients block in `get` most of the time: like Ray's benchmark actors they
/// take no CPU, so that all four run on a 2-core node.
inline const troupe::task_options client_options{.num_cpus = 0};

/// Sums `n` values with eight independent partial sums, as numpy's pairwise
/// sum does: one running sum waits on each add's latency and would measure
/// the adder (8 GB/s here, 11-12 GB/s with eight sums), not how fast the
/// store hands out the bytes.
double fast_sum(const double* xs, std::size_t n);

/// Returns the seconds since `t0`.
double seconds_since(clock_type::time_point t0);

/// Returns the nearest-rank percentile `p` (0..1) of `xs`.
double percentile(std::vector<double> xs, double p);

/// Calls `step` up to `max_steps` times or until `budget_s` seconds pass;
/// returns steps per second. The budget bounds the run on a slow library.
template <class F>
double rate(std::size_t max_steps, double budget_s, F&& step) {
  auto t0 = clock_type::now();
  std::size_t n = 0;
  while (n < max_steps && (n == 0 || seconds_since(t0) < budget_s)) {
    step();
    ++n;
  }
  return static_cast<double>(n) / seconds_since(t0);
}

/// Throws when `ok` is false: a figure of a wrong result would be no figure.
void check(bool ok, const char* what);

/// Gets the results of no-op tasks or calls (1 each) and checks their sum.
void get_all(const std::vector<int_ref>& refs, const bench_config& cfg);

/// Rounds of sync calls (`call` submits one and gets it): the rate and the
/// latency percentiles, under the names given.
template <class Call>
void sync_rounds(const bench_config& cfg, bench_samples& out, const char* rate_name,
                 const char* p50_name, const char* p99_name, Call call) {
  auto max_calls = cfg.pick<std::size_t>(2000, 300);
  auto budget = cfg.pick(2.0, 0.5);
  for (int r = 0; r < cfg.rounds; ++r) {
    std::vector<double> latencies;
    latencies.reserve(max_calls);
    auto per_s = rate(max_calls, budget, [&] {
      auto t = clock_type::now();
      call();
      latencies.push_back(seconds_since(t) * 1e6);
    });
    out[rate_name].push_back(per_s);
    out[p50_name].push_back(percentile(latencies, 0.50));
    out[p99_name].push_back(percentile(latencies, 0.99));
  }
}

} // namespace troupe::tools::bench
