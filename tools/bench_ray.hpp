#pragma once

// `troupe microbenchmark --suite ray`: every row of Ray 2.60's `ray
// microbenchmark` (ray/_private/ray_perf.py) but the Ray Client ones, each
// doing what Ray's does, in Ray's unit and with Ray's multiplier. A row's
// name is Ray's, lower-cased, each run of other characters than letters and
// digits made one `_`, and prefixed `ray_`: "1:1 actor calls sync" is
// `ray_1_1_actor_calls_sync`. BENCHMARKS.md describes every row.

#include <vector>

#include "tools/bench_workloads.hpp"

namespace troupe::tools {

/// One row of the Ray suite.
struct ray_row {
  const char* name; ///< Ray's name as troupe prints it
  const char* unit; ///< what Ray's figure counts per second
  void (*run)(const bench_config&, bench_samples&);
  /// Runs on a fresh cluster of its own (Ray starts one for it), started
  /// with `custom: 100` of a custom resource.
  bool fresh_cluster = false;
};

/// Returns the rows in Ray's order. A row whose `run` records nothing
/// prints as `unsupported`.
const std::vector<ray_row>& ray_rows();

} // namespace troupe::tools

namespace troupe::tools::bench {

void ray_get_calls(const bench_config& cfg, bench_samples& out);
void ray_put_calls(const bench_config& cfg, bench_samples& out);
void ray_multi_client_put_calls(const bench_config& cfg, bench_samples& out);
void ray_put_gigabytes(const bench_config& cfg, bench_samples& out);
void ray_tasks_and_get_batch(const bench_config& cfg, bench_samples& out);
void ray_multi_client_put_gigabytes(const bench_config& cfg, bench_samples& out);
void ray_get_object_with_10k_refs(const bench_config& cfg, bench_samples& out);
void ray_wait_1k_refs(const bench_config& cfg, bench_samples& out);
void ray_tasks_sync(const bench_config& cfg, bench_samples& out);
void ray_tasks_async(const bench_config& cfg, bench_samples& out);
void ray_multi_client_tasks_async(const bench_config& cfg, bench_samples& out);
void ray_actor_calls_sync(const bench_config& cfg, bench_samples& out);
void ray_actor_calls_async(const bench_config& cfg, bench_samples& out);
void ray_actor_calls_concurrent(const bench_config& cfg, bench_samples& out);
void ray_actor_calls_1_n(const bench_config& cfg, bench_samples& out);
void ray_actor_calls_n_n(const bench_config& cfg, bench_samples& out);
void ray_actor_calls_n_n_arg(const bench_config& cfg, bench_samples& out);
void ray_async_actor_calls_sync(const bench_config& cfg, bench_samples& out);
void ray_async_actor_calls_async(const bench_config& cfg, bench_samples& out);
void ray_async_actor_calls_with_args(const bench_config& cfg, bench_samples& out);
void ray_async_actor_calls_1_n(const bench_config& cfg, bench_samples& out);
void ray_async_actor_calls_n_n(const bench_config& cfg, bench_samples& out);
void ray_placement_groups(const bench_config& cfg, bench_samples& out);

} // namespace troupe::tools::bench
