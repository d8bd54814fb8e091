#pragma once

// What the rows of `troupe microbenchmark --suite ray` share: Ray's way of
// timing a row (`timeit` in Ray's ray_microbenchmark_helpers.py, scaled
// down to fit the suite's time budget), Ray's n, and the small tasks that
// several rows submit. Each row is written after Ray 2.60's ray_perf.py;
// BENCHMARKS.md says what each does and how it maps to Ray's.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <troupe/troupe.hpp>

#include "tools/bench_support.hpp"
#include "tools/bench_workloads.hpp"

namespace troupe::tools {

/// Ray's `small_value` task: returns a small value (Ray's returns b"ok").
std::int64_t ray_small_value();

} // namespace troupe::tools

namespace troupe::tools::bench {

/// How long Ray's `timeit` runs a row, and how long ours does: a warm-up
/// whose count of calls sets the step (calls between clock reads, count/10
/// + 1), then windows of whole steps, each lasting at least `window_s`.
struct ray_timing {
  double warmup_s;
  int windows;
  double window_s;
};

/// Ray: 1 s of warm-up, 4 windows of 2 s (after a 10 s sleep per row, which
/// we leave out). Ours: 1 s and 4 windows of 1 s; with `--quick`, 0.2 s and
/// 2 windows of 0.25 s.
ray_timing ray_timing_of(const bench_config& cfg);

/// Ray's `timeit(name, fn, multiplier)`: records `multiplier * calls /
/// seconds` for each window under `name`; the suite prints their mean, as
/// Ray does.
template <class F>
void ray_timeit(const bench_config& cfg, bench_samples& out, const std::string& name,
                double multiplier, F&& fn) {
  auto t = ray_timing_of(cfg);
  auto t0 = clock_type::now();
  std::size_t count = 0;
  while (seconds_since(t0) < t.warmup_s) {
    fn();
    ++count;
  }
  auto step = count / 10 + 1;
  for (int w = 0; w < t.windows; ++w) {
    auto start = clock_type::now();
    std::size_t calls = 0;
    while (seconds_since(start) < t.window_s) {
      for (std::size_t i = 0; i < step; ++i)
        fn();
      calls += step;
    }
    out[name].push_back(multiplier * static_cast<double>(calls) / seconds_since(start));
  }
}

/// Ray's `n_cpu`: `multiprocessing.cpu_count() // 2`, at least 1.
std::size_t ray_n_cpu();

/// Ray's tasks take 1 CPU unless told otherwise.
inline const troupe::task_options one_cpu{.num_cpus = 1};

/// Submits `n` `ray_small_value` tasks.
std::vector<int_ref> submit_small_values(std::size_t n);

/// Kills `actors` when it goes out of scope, so that each row's actors give
/// their worker processes back (the node caps them) also when a row fails.
template <class Handle>
struct actor_reaper {
  std::vector<Handle> actors;
  actor_reaper() = default;
  actor_reaper(const actor_reaper&) = delete;
  actor_reaper& operator=(const actor_reaper&) = delete;
  ~actor_reaper() {
    for (auto& a : actors)
      troupe::kill(a);
  }
};

} // namespace troupe::tools::bench
