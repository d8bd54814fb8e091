#include "actors/node_metrics.hpp"

#include <doctest/doctest.h>

using namespace troupe;

namespace {

/// The value of the sample of `family` whose labels include `label=value`.
double value_of(const metric_families& fs, const std::string& family, const std::string& label,
                const std::string& value) {
  for (auto& f : fs)
    if (f.name == family)
      for (auto& m : f.metric)
        for (auto& l : m.label)
          if (l.name == label && l.value == value)
            return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
  FAIL("no sample " << family << "{" << label << "=" << value << "}");
  return -1;
}

} // namespace

TEST_CASE("a node's metrics come from its scheduler's and store's documents") {
  local_scheduler_status sched;
  sched.total = {{"CPU", 4}, {"GPU", 1}};
  sched.available = {{"CPU", 1.5}, {"GPU", 1}};
  sched.workers = {2, 3, 1, 0};
  store_status store;
  store.capacity = 1000;
  store.bytes_in_use = 600;
  store.objects = 5;
  store.spilled_objects = 2;
  store.spilled_bytes = 300;
  store.pulls = 4;
  store.pull_bytes = 4096;
  store.pull_failures = 1;
  auto fs = node_families(sched, store);
  CHECK(value_of(fs, "troupe_resources_total", "resource", "CPU") == 4);
  CHECK(value_of(fs, "troupe_resources_used", "resource", "CPU") == 2.5);
  CHECK(value_of(fs, "troupe_resources_used", "resource", "GPU") == 0);
  CHECK(value_of(fs, "troupe_workers", "state", "leased") == 3);
  CHECK(value_of(fs, "troupe_object_store_bytes", "kind", "used") == 600);
  CHECK(value_of(fs, "troupe_object_store_bytes", "kind", "spilled") == 300);
  CHECK(value_of(fs, "troupe_object_store_objects", "where", "memory") == 3);
  CHECK(value_of(fs, "troupe_object_pulls_total", "result", "ok") == 4);
  CHECK(value_of(fs, "troupe_object_pulls_total", "result", "failed") == 1);
  auto text = metrics_text(fs);
  CHECK(text.find("troupe_object_pull_bytes_total 4096") != std::string::npos);
}

TEST_CASE("the head's metrics count nodes, jobs and actors by state, and heartbeat ages") {
  control_store_status control;
  control.nodes = {{1, "a:1", true, {}}, {2, "b:2", true, {}}, {3, "c:3", false, {}}};
  control.jobs = {{1, 10, false}, {2, 11, true}};
  control.actors = {{"1.1", "c", "", "", "alive", 1, false, "", 5, 2},
                    {"1.2", "c", "", "", "alive", 2, false, "", 6, 0},
                    {"1.3", "c", "", "", "dead", 2, false, "killed", 7, 1}};
  cluster_scheduler_status cluster;
  cluster.nodes = {{1, true, {}, {}, 0, 0.1}, {2, true, {}, {}, 3, 4.5}, {3, false, {}, {}, 0, 90}};
  auto fs = head_families(control, cluster);
  CHECK(value_of(fs, "troupe_cluster_nodes", "state", "alive") == 2);
  CHECK(value_of(fs, "troupe_cluster_nodes", "state", "dead") == 1);
  CHECK(value_of(fs, "troupe_actors", "state", "alive") == 2);
  CHECK(value_of(fs, "troupe_actors", "state", "dead") == 1);
  CHECK(value_of(fs, "troupe_actors", "state", "restarting") == 0);
  CHECK(value_of(fs, "troupe_node_heartbeat_age_seconds", "peer", "2") == 4.5);
  CHECK(value_of(fs, "troupe_node_queued_demands", "peer", "2") == 3);
  auto text = metrics_text(fs);
  CHECK(text.find("troupe_cluster_jobs 1") != std::string::npos);
  CHECK(text.find("troupe_actor_restarts 3") != std::string::npos);
  CHECK(text.find("peer=\"3\"") == std::string::npos); // a dead node has no heartbeat
}
