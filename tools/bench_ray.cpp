// The rows of the Ray suite in Ray's order, and its placement-group row.
#include "tools/bench_ray.hpp"

#include "tools/bench_ray_support.hpp"

namespace troupe::tools {

const std::vector<ray_row>& ray_rows() {
  using namespace bench;
  static const std::vector<ray_row> rows{
    {"ray_single_client_get_calls_plasma_store", "gets/s", ray_get_calls},
    {"ray_single_client_put_calls_plasma_store", "puts/s", ray_put_calls},
    {"ray_multi_client_put_calls_plasma_store", "puts/s", ray_multi_client_put_calls},
    {"ray_single_client_put_gigabytes", "GB/s (0.8 per put)", ray_put_gigabytes},
    {"ray_single_client_tasks_and_get_batch", "batches/s", ray_tasks_and_get_batch},
    {"ray_multi_client_put_gigabytes", "GB/s (8 per batch)", ray_multi_client_put_gigabytes},
    {"ray_single_client_get_object_containing_10k_refs", "gets/s",
     ray_get_object_with_10k_refs},
    {"ray_single_client_wait_1k_refs", "cycles/s", ray_wait_1k_refs},
    {"ray_single_client_tasks_sync", "tasks/s", ray_tasks_sync},
    {"ray_single_client_tasks_async", "tasks/s", ray_tasks_async},
    {"ray_multi_client_tasks_async", "tasks/s", ray_multi_client_tasks_async},
    {"ray_1_1_actor_calls_sync", "calls/s", ray_actor_calls_sync},
    {"ray_1_1_actor_calls_async", "calls/s", ray_actor_calls_async},
    {"ray_1_1_actor_calls_concurrent", "calls/s", ray_actor_calls_concurrent},
    {"ray_1_n_actor_calls_async", "calls/s", ray_actor_calls_1_n},
    {"ray_n_n_actor_calls_async", "calls/s", ray_actor_calls_n_n},
    {"ray_n_n_actor_calls_with_arg_async", "calls/s", ray_actor_calls_n_n_arg},
    {"ray_1_1_async_actor_calls_sync", "calls/s", ray_async_actor_calls_sync},
    {"ray_1_1_async_actor_calls_async", "calls/s", ray_async_actor_calls_async},
    {"ray_1_1_async_actor_calls_with_args_async", "calls/s", ray_async_actor_calls_with_args},
    {"ray_1_n_async_actor_calls_async", "calls/s", ray_async_actor_calls_1_n},
    {"ray_n_n_async_actor_calls_async", "calls/s", ray_async_actor_calls_n_n},
    {"ray_placement_group_create_removal", "groups/s", ray_placement_groups, true},
  };
  return rows;
}

} // namespace troupe::tools

namespace troupe::tools::bench {

/// "placement group create/removal", on a cluster with `custom: 100`: per
/// call, 100 one-bundle groups of `custom: 0.001` are created (each create
/// answered once the group is registered, its placement going on behind),
/// then waited for, then removed, each removal acknowledged.
void ray_placement_groups(const bench_config& cfg, bench_samples& out) {
  constexpr int num_pgs = 100;
  ray_timeit(cfg, out, "ray_placement_group_create_removal", num_pgs, [&] {
    std::vector<troupe::placement_group> pgs;
    pgs.reserve(num_pgs);
    for (int i = 0; i < num_pgs; ++i)
      pgs.push_back(troupe::create_placement_group({{{"custom", 0.001}}}));
    for (auto& pg : pgs)
      check(pg.wait(std::chrono::seconds(30)), "the placement group was placed");
    for (auto& pg : pgs)
      troupe::remove_placement_group(pg);
  });
}

} // namespace troupe::tools::bench
