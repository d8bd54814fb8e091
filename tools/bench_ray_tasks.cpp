// The task rows of the Ray suite (ray_perf.py's "single client tasks ..."
// rows), and the helpers of bench_ray_support.hpp.
#include <algorithm>
#include <thread>

#include "tools/bench_ray.hpp"
#include "tools/bench_ray_support.hpp"

namespace troupe::tools {

std::int64_t ray_small_value() {
  return 1;
}
TROUPE_REMOTE(ray_small_value);

} // namespace troupe::tools

namespace troupe::tools::bench {

ray_timing ray_timing_of(const bench_config& cfg) {
  return cfg.quick ? ray_timing{0.2, 2, 0.25} : ray_timing{1.0, 4, 1.0};
}

std::size_t ray_n_cpu() {
  return std::max(1U, std::thread::hardware_concurrency() / 2);
}

std::vector<int_ref> submit_small_values(std::size_t n) {
  auto f = troupe::task(ray_small_value, one_cpu);
  std::vector<int_ref> refs;
  refs.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    refs.push_back(f.remote());
  return refs;
}

/// "single client tasks and get batch": 1,000 tasks, then get the list;
/// one batch per call (multiplier 1).
void ray_tasks_and_get_batch(const bench_config& cfg, bench_samples& out) {
  ray_timeit(cfg, out, "ray_single_client_tasks_and_get_batch", 1,
             [&] { get_all(submit_small_values(1000), cfg); });
}

/// "single client tasks sync": submit one task, get it.
void ray_tasks_sync(const bench_config& cfg, bench_samples& out) {
  auto f = troupe::task(ray_small_value, one_cpu);
  ray_timeit(cfg, out, "ray_single_client_tasks_sync", 1,
             [&] { check(troupe::get(f.remote(), cfg.timeout) == 1, "small value"); });
}

/// "single client tasks async": the same code as the batch row, counted per
/// task (multiplier 1,000).
void ray_tasks_async(const bench_config& cfg, bench_samples& out) {
  ray_timeit(cfg, out, "ray_single_client_tasks_async", 1000,
             [&] { get_all(submit_small_values(1000), cfg); });
}

/// "single client wait 1k refs": 1,000 tasks, then 1,000 waits for one ref
/// each, every wait taking exactly one ready ref out of the list (Ray's
/// `ray.wait(not_ready)` with num_returns=1). One such cycle per call.
void ray_wait_1k_refs(const bench_config& cfg, bench_samples& out) {
  ray_timeit(cfg, out, "ray_single_client_wait_1k_refs", 1, [&] {
    auto not_ready = submit_small_values(1000);
    for (int i = 0; i < 1000; ++i) {
      auto r = troupe::wait(not_ready, 1, cfg.timeout);
      check(r.ready.size() == 1, "wait returns exactly one ready ref");
      not_ready = std::move(r.not_ready);
    }
    check(not_ready.empty(), "every ref was taken");
  });
}

} // namespace troupe::tools::bench
