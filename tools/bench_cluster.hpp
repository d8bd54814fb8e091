#pragma once

// The cluster workloads of `troupe microbenchmark`: placement groups, and an
// object moving from one node to another.

#include "tools/bench_workloads.hpp"

namespace troupe::tools::bench {

void placement_groups(const bench_config& cfg, bench_samples& out);
void cross_node_put_get(const bench_config& cfg, bench_samples& out);

} // namespace troupe::tools::bench
