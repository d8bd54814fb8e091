#include "tools/bench_workloads.hpp"

#include "tools/bench_actors.hpp"
#include "tools/bench_cluster.hpp"
#include "tools/bench_floor.hpp"
#include "tools/bench_libraries.hpp"
#include "tools/bench_objects.hpp"
#include "tools/bench_tasks.hpp"

namespace troupe::tools {

const std::vector<bench_workload>& cluster_workloads() {
  using namespace bench;
  static const std::vector<bench_workload> all{
      // First, on a quiet machine; the ratios at the end need it.
      {{"tcp_stream_gigabytes", "tcp_roundtrip_us", "cross_node_floor_ratio",
        "task_roundtrip_floor_ratio"},
       tcp_floor},
      {{"single_client_tasks_sync", "task_roundtrip_p50_us", "task_roundtrip_p99_us"},
       tasks_sync},
      {{"single_client_tasks_async"}, tasks_async},
      {{"multi_client_tasks_async"}, multi_client_tasks},
      {{"single_client_tasks_and_get_batch"}, tasks_and_get_batch},
      {{"1_1_actor_calls_sync", "actor_call_p50_us", "actor_call_p99_us"},
       actor_calls_sync},
      {{"1_1_actor_calls_async"}, actor_calls_async},
      {{"1_1_actor_calls_concurrent"}, actor_calls_concurrent},
      {{"1_n_actor_calls_async"}, actor_calls_1_n},
      {{"n_n_actor_calls_async"}, actor_calls_n_n_noarg},
      {{"n_n_actor_calls_with_arg_async"}, actor_calls_n_n_arg},
      {{"single_client_put_calls"}, put_calls},
      {{"single_client_get_calls"}, get_calls},
      {{"multi_client_put_calls"}, multi_client_puts},
      {{"single_client_put_gigabytes"}, put_gigabytes},
      {{"single_client_wait_1k_refs"}, wait_1k_refs},
      {{"single_client_get_object_containing_10k_refs"}, get_object_with_10k_refs},
      {{"chain_1000_tasks"}, chain_tasks},
      {{"tree_reduce_1024_s"}, tree_reduce},
      {{"large_arg_100mb_s"}, large_arg},
      {{"get_large_gigabytes"}, get_large},
      {{"actor_creation_per_s"}, actor_creation},
      {{"placement_group_create_removal"}, placement_groups},
      {{"cross_node_put_get_gigabytes"}, cross_node_put_get},
      {{"pool_map_items_per_s", "pool_map_cpu_speedup"}, pool_map},
      {{"queue_put_get_ops_per_s", "queue_task_to_task_items_per_s"}, queue_ops},
      {{"serve_requests_per_s", "serve_p50_ms", "serve_p99_ms"}, serve_requests},
      // Last: its ratios divide figures measured before it.
      {{"cross_node_floor_ratio", "task_roundtrip_floor_ratio"}, floor_ratios},
  };
  return all;
}

} // namespace troupe::tools
