#pragma once

// The object workloads of `troupe microbenchmark`: puts and gets, small and
// large, waits, objects holding refs, large arguments.

#include <cstdint>

#include <troupe/troupe.hpp>

#include "tools/bench_workloads.hpp"

namespace troupe::tools {

/// Returns an array of `n` ones (made where the task runs, kept in that
/// node's store). The cross-node figure runs it on the other node.
troupe::shared_array<double> bench_ones(std::uint64_t n);

} // namespace troupe::tools

namespace troupe::tools::bench {

void put_calls(const bench_config& cfg, bench_samples& out);
void get_calls(const bench_config& cfg, bench_samples& out);
void multi_client_puts(const bench_config& cfg, bench_samples& out);
void put_gigabytes(const bench_config& cfg, bench_samples& out);
void wait_1k_refs(const bench_config& cfg, bench_samples& out);
void get_object_with_10k_refs(const bench_config& cfg, bench_samples& out);
void large_arg(const bench_config& cfg, bench_samples& out);
void get_large(const bench_config& cfg, bench_samples& out);

} // namespace troupe::tools::bench
