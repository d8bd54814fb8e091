#pragma once

// The async-actor workloads of `troupe microbenchmark`: Ray's five
// async-actor rows (its `AsyncActor`, whose methods are coroutines on one
// event loop, max_concurrency 1000), each in Ray's shape: 1:1 sync, 1:1
// async, 1:1 async with by-value arguments, 1:n through a client actor and
// n:n from four caller tasks.

#include "tools/bench_workloads.hpp"

namespace troupe::tools::bench {

/// `1_1_async_actor_calls_sync`: one call, then get it.
void async_actor_calls_sync(const bench_config& cfg, bench_samples& out);
/// `1_1_async_actor_calls_async`: 1,000 calls, then get all.
void async_actor_calls_async(const bench_config& cfg, bench_samples& out);
/// `1_1_async_actor_calls_with_args_async`: 1,000 calls with an int each.
void async_actor_calls_with_args_async(const bench_config& cfg, bench_samples& out);
/// `1_n_async_actor_calls_async`: a client actor makes 5,000 calls to each
/// of max(1, cores / 2) async actors, then gets all.
void async_actor_calls_1_n(const bench_config& cfg, bench_samples& out);
/// `n_n_async_actor_calls_async`: four caller tasks (1 CPU) each make 5,000
/// calls round-robin over all max(1, cores / 2) async actors.
void async_actor_calls_n_n(const bench_config& cfg, bench_samples& out);

} // namespace troupe::tools::bench
