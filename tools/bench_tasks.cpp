#include "tools/bench_tasks.hpp"

#include <cstdint>
#include <unistd.h>
#include <vector>

#include <troupe/troupe.hpp>

#include "tools/bench_support.hpp"

namespace troupe::tools {

// The tasks are registered here so that the troupe executable, which is also
// its own worker, can run them wherever the benchmark's driver is.

/// The no-op task: returns a small value.
std::int64_t bench_noop() {
  return 1;
}
TROUPE_REMOTE(bench_noop);

std::int64_t bench_inc(std::int64_t x) {
  return x + 1;
}
TROUPE_REMOTE(bench_inc);

std::int64_t bench_add(std::int64_t a, std::int64_t b) {
  return a + b;
}
TROUPE_REMOTE(bench_add);

/// Returns the pid of the process that runs it: the warm-up checks that
/// tasks really run in workers, not in the driver.
std::int64_t bench_pid() {
  return ::getpid();
}
TROUPE_REMOTE(bench_pid);

/// One client of multi_client_tasks_async: submits `n` no-ops, gets all.
std::int64_t bench_client_tasks(std::int64_t n) {
  auto f = troupe::task(bench_noop);
  std::vector<troupe::object_ref<std::int64_t>> refs;
  refs.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    refs.push_back(f.remote());
  std::int64_t total = 0;
  for (auto v : troupe::get(refs, std::chrono::seconds(60)))
    total += v;
  return total;
}
TROUPE_REMOTE(bench_client_tasks);

} // namespace troupe::tools

namespace troupe::tools::bench {

namespace {

std::vector<int_ref> submit_noops(std::size_t n) {
  auto f = troupe::task(bench_noop);
  std::vector<int_ref> refs;
  refs.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    refs.push_back(f.remote());
  return refs;
}

} // namespace

void tasks_sync(const bench_config& cfg, bench_samples& out) {
  auto f = troupe::task(bench_noop);
  sync_rounds(cfg, out, "single_client_tasks_sync", "task_roundtrip_p50_us",
              "task_roundtrip_p99_us",
              [&] { check(troupe::get(f.remote(), cfg.timeout) == 1, "no-op result"); });
}

void tasks_async(const bench_config& cfg, bench_samples& out) {
  // One cycle takes ~20 ms: a round of several is less at the mercy of noise.
  auto cycles = cfg.pick(5, 1);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    for (int c = 0; c < cycles; ++c)
      get_all(submit_noops(1000), cfg);
    out["single_client_tasks_async"].push_back(cycles * 1000 / seconds_since(t0));
  }
}

void multi_client_tasks(const bench_config& cfg, bench_samples& out) {
  auto client = troupe::task(bench_client_tasks, client_options);
  const std::int64_t per_client = 1000;
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    std::vector<int_ref> clients;
    for (int c = 0; c < num_clients; ++c)
      clients.push_back(client.remote(per_client));
    for (auto v : troupe::get(clients, cfg.timeout))
      check(v == per_client, "client task result");
    out["multi_client_tasks_async"].push_back(num_clients * per_client /
                                              seconds_since(t0));
  }
}

void tasks_and_get_batch(const bench_config& cfg, bench_samples& out) {
  auto batches = cfg.pick(3, 1);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    for (int b = 0; b < batches; ++b)
      get_all(submit_noops(1000), cfg);
    out["single_client_tasks_and_get_batch"].push_back(batches / seconds_since(t0));
  }
}

void chain_tasks(const bench_config& cfg, bench_samples& out) {
  auto f = troupe::task(bench_inc);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    auto ref = f.remote(std::int64_t{0});
    for (int i = 1; i < 1000; ++i)
      ref = f.remote(ref);
    check(troupe::get(ref, cfg.timeout) == 1000, "chain result");
    out["chain_1000_tasks"].push_back(1000 / seconds_since(t0));
  }
}

void tree_reduce(const bench_config& cfg, bench_samples& out) {
  auto add = troupe::task(bench_add);
  for (int r = 0; r < cfg.rounds; ++r) {
    std::vector<int_ref> level;
    for (std::int64_t i = 0; i < 1024; ++i)
      level.push_back(troupe::put(i));
    auto t0 = clock_type::now();
    while (level.size() > 1) {
      std::vector<int_ref> next;
      for (std::size_t i = 0; i + 1 < level.size(); i += 2)
        next.push_back(add.remote(level[i], level[i + 1]));
      level = std::move(next);
    }
    check(troupe::get(level.front(), cfg.timeout) == 1023 * 1024 / 2, "tree sum");
    out["tree_reduce_1024_s"].push_back(seconds_since(t0));
  }
}

} // namespace troupe::tools::bench

namespace troupe::tools {

void warm_up(const bench_config& cfg) {
  bench::get_all(bench::submit_noops(cfg.pick<std::size_t>(200, 50)), cfg);
  bench::check(troupe::get(troupe::task(bench_pid).remote(), cfg.timeout) != ::getpid(),
               "tasks run in the driver process");
}

void measure_cluster_start(const bench_config& cfg, bench_samples& out) {
  for (int r = 0; r < 3; ++r) {
    auto t0 = bench::clock_type::now();
    troupe::init();
    try {
      bench::check(troupe::get(troupe::task(bench_noop).remote(), cfg.timeout) == 1,
                   "first task result");
    } catch (...) {
      troupe::shutdown();
      throw;
    }
    out["cluster_start_s"].push_back(bench::seconds_since(t0));
    troupe::shutdown();
  }
}

} // namespace troupe::tools
