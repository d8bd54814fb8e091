#pragma once

// The task workloads of `troupe microbenchmark`: sync and async no-ops, many
// clients, chains and trees of tasks. `warm_up` and `measure_cluster_start`
// (tools/bench_workloads.hpp) are defined beside them.

#include "tools/bench_workloads.hpp"

namespace troupe::tools::bench {

void tasks_sync(const bench_config& cfg, bench_samples& out);
void tasks_async(const bench_config& cfg, bench_samples& out);
void multi_client_tasks(const bench_config& cfg, bench_samples& out);
void tasks_and_get_batch(const bench_config& cfg, bench_samples& out);
void chain_tasks(const bench_config& cfg, bench_samples& out);
void tree_reduce(const bench_config& cfg, bench_samples& out);

} // namespace troupe::tools::bench
