#pragma once

// The library workloads of `troupe microbenchmark`: troupe::pool's map (its
// overhead per item, and its speed-up over one thread on CPU-bound items)
// and troupe::queue (single operations, and items from a producer task to a
// consumer task).

#include "tools/bench_workloads.hpp"

namespace troupe::tools::bench {

void pool_map(const bench_config& cfg, bench_samples& out);
void queue_ops(const bench_config& cfg, bench_samples& out);
/// HTTP requests through troupe::serve's ingress to a replica that answers
/// at once, from 8 keep-alive connections: requests/s, p50 and p99 in ms.
void serve_requests(const bench_config& cfg, bench_samples& out);

} // namespace troupe::tools::bench
