#pragma once

// The floor of `troupe microbenchmark`: what loopback TCP itself does on this
// machine (tools/tcp_floor.h), measured in the same run, and troupe's
// figures over it.

#include "tools/bench_workloads.hpp"

namespace troupe::tools::bench {

/// Measures `tcp_stream_gigabytes` and `tcp_roundtrip_us`. Run it first:
/// at the end of a full run, with the actors and workers the workloads
/// leave behind, the loopback round trip measured 60-64 us instead of 12-13.
void tcp_floor(const bench_config& cfg, bench_samples& out);

/// Divides the medians of figures measured in this run by the floor's:
/// `cross_node_floor_ratio` (higher is better, 1 = as fast as one TCP
/// stream) and `task_roundtrip_floor_ratio` (lower is better, 1 = one TCP
/// round trip). Run it last: a ratio whose figures were not measured is
/// left out.
void floor_ratios(const bench_config& cfg, bench_samples& out);

} // namespace troupe::tools::bench
