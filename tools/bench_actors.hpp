#pragma once

// The actor workloads of `troupe microbenchmark`: calls sync and async, from
// one caller or many, to one actor or many, and actor creation.

#include "tools/bench_workloads.hpp"

namespace troupe::tools::bench {

void actor_calls_sync(const bench_config& cfg, bench_samples& out);
void actor_calls_async(const bench_config& cfg, bench_samples& out);
void actor_calls_concurrent(const bench_config& cfg, bench_samples& out);
void actor_calls_1_n(const bench_config& cfg, bench_samples& out);
void actor_calls_n_n_noarg(const bench_config& cfg, bench_samples& out);
void actor_calls_n_n_arg(const bench_config& cfg, bench_samples& out);
void actor_creation(const bench_config& cfg, bench_samples& out);

} // namespace troupe::tools::bench
