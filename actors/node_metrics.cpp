#include "actors/node_metrics.hpp"

#include <map>
#include <unistd.h>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "lib/common/ask.hpp"
#include "lib/common/process_metrics.hpp"

namespace troupe {

namespace {

using prometheus::MetricType;

/// Builds one family's samples.
struct family_builder {
  prometheus::MetricFamily f;

  family_builder(std::string name, std::string help, MetricType type)
    : f{std::move(name), std::move(help), type, {}} {
  }

  family_builder& add(double value, metric_labels labels = {}) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    if (f.type == MetricType::Counter)
      m.counter.value = value;
    else
      m.gauge.value = value;
    f.metric.push_back(std::move(m));
    return *this;
  }
};

void add_resources(metric_families& out, const local_scheduler_status& sched) {
  family_builder total{"troupe_resources_total", "The node's resources", MetricType::Gauge};
  family_builder used{"troupe_resources_used", "The node's resources in use by tasks and "
                                               "actors", MetricType::Gauge};
  for (auto& [name, amount] : sched.total) {
    total.add(amount, {{"resource", name}});
    auto it = sched.available.find(name);
    used.add(amount - (it == sched.available.end() ? 0 : it->second), {{"resource", name}});
  }
  out.push_back(std::move(total.f));
  out.push_back(std::move(used.f));
}

} // namespace

metric_families node_families(const local_scheduler_status& sched, const store_status& store) {
  metric_families out;
  add_resources(out, sched);
  family_builder workers{"troupe_workers", "The node's worker processes, by state",
                         MetricType::Gauge};
  workers.add(static_cast<double>(sched.workers.idle), {{"state", "idle"}})
    .add(static_cast<double>(sched.workers.leased), {{"state", "leased"}})
    .add(static_cast<double>(sched.workers.starting), {{"state", "starting"}})
    .add(static_cast<double>(sched.workers.blocked), {{"state", "blocked"}});
  out.push_back(std::move(workers.f));
  family_builder demands{"troupe_pending_demands", "Lease requests waiting for resources "
                                                   "on the node", MetricType::Gauge};
  out.push_back(std::move(demands.add(static_cast<double>(sched.pending_demands.size())).f));
  auto d = [](std::uint64_t x) { return static_cast<double>(x); };
  family_builder bytes{"troupe_object_store_bytes", "The object store's bytes: capacity, "
                                                    "in use, spilled to disk, on disk as "
                                                    "larger than the store",
                       MetricType::Gauge};
  bytes.add(d(store.capacity), {{"kind", "capacity"}})
    .add(d(store.bytes_in_use), {{"kind", "used"}})
    .add(d(store.spilled_bytes), {{"kind", "spilled"}})
    .add(d(store.fallback_bytes), {{"kind", "fallback"}});
  out.push_back(std::move(bytes.f));
  family_builder objects{"troupe_object_store_objects", "Objects in the store, by where "
                                                        "their data is",
                         MetricType::Gauge};
  objects.add(d(store.objects - store.spilled_objects), {{"where", "memory"}})
    .add(d(store.spilled_objects), {{"where", "spilled"}})
    .add(d(store.fallback_objects), {{"where", "disk"}})
    .add(d(store.copies), {{"where", "copy"}});
  out.push_back(std::move(objects.f));
  family_builder pulls{"troupe_object_pulls_total", "Objects pulled from other nodes",
                       MetricType::Counter};
  pulls.add(d(store.pulls), {{"result", "ok"}}).add(d(store.pull_failures), {{"result", "failed"}});
  out.push_back(std::move(pulls.f));
  family_builder pull_bytes{"troupe_object_pull_bytes_total",
                            "Bytes of the objects pulled from other nodes", MetricType::Counter};
  out.push_back(std::move(pull_bytes.add(d(store.pull_bytes)).f));
  return out;
}

metric_families head_families(const control_store_status& control,
                              const cluster_scheduler_status& cluster) {
  metric_families out;
  family_builder nodes{"troupe_cluster_nodes", "The cluster's nodes, alive or dead",
                       MetricType::Gauge};
  double alive = 0;
  for (auto& n : control.nodes)
    alive += n.alive;
  nodes.add(alive, {{"state", "alive"}})
    .add(static_cast<double>(control.nodes.size()) - alive, {{"state", "dead"}});
  out.push_back(std::move(nodes.f));
  family_builder jobs{"troupe_cluster_jobs", "Jobs (drivers) connected now",
                      MetricType::Gauge};
  double live = 0;
  for (auto& j : control.jobs)
    live += j.alive;
  out.push_back(std::move(jobs.add(live).f));
  family_builder actors{"troupe_actors", "The cluster's actors, by state", MetricType::Gauge};
  std::map<std::string, double> by_state{
    {"pending", 0}, {"alive", 0}, {"restarting", 0}, {"dying", 0}, {"dead", 0}};
  double restarts = 0;
  for (auto& a : control.actors) {
    by_state[a.state] += 1;
    restarts += a.restarts;
  }
  for (auto& [state, n] : by_state)
    actors.add(n, {{"state", state}});
  out.push_back(std::move(actors.f));
  family_builder rebuilt{"troupe_actor_restarts", "Restarts of the actors the cluster knows",
                         MetricType::Gauge};
  out.push_back(std::move(rebuilt.add(restarts).f));
  family_builder age{"troupe_node_heartbeat_age_seconds",
                     "Seconds since the head last heard a node's report (every 250 ms)",
                     MetricType::Gauge};
  family_builder queued{"troupe_node_queued_demands", "Lease requests queued on each node, "
                                                      "as its last report said",
                        MetricType::Gauge};
  for (auto& n : cluster.nodes) {
    if (!n.alive)
      continue;
    metric_labels peer{{"peer", std::to_string(n.id)}};
    if (n.report_age >= 0)
      age.add(n.report_age, peer);
    queued.add(n.queued, peer);
  }
  out.push_back(std::move(age.f));
  out.push_back(std::move(queued.f));
  return out;
}

std::string scrape_node(caf::actor_system& sys, const node_info& node,
                        const cluster_scheduler_actor& cluster,
                        std::chrono::milliseconds timeout) {
  metric_labels at_node{{"node", std::to_string(node.node_id)}};
  metric_families all;
  auto text = [&](const auto& who, auto atom) {
    return detail::try_ask<std::string>(sys, who, timeout, atom);
  };
  try {
    auto sched = text(node.scheduler, status_atom::value);
    auto store = text(node.store_manager, stats_atom::value);
    if (sched && store)
      merge_metrics(all,
                    node_families(from_json_text<local_scheduler_status>(*sched),
                                  from_json_text<store_status>(*store)),
                    at_node);
    if (cluster) {
      auto control = text(node.control, status_atom::value);
      auto load = text(cluster, status_atom::value);
      if (control && load)
        merge_metrics(all,
                      head_families(from_json_text<control_store_status>(*control),
                                    from_json_text<cluster_scheduler_status>(*load)),
                      at_node);
    }
  } catch (const std::exception& e) {
    spdlog::warn("metrics: a status document of this node is not valid: {}", e.what());
  }
  // The node daemon's own (its parts record nothing of their own yet).
  auto daemon = at_node;
  daemon.push_back({"pid", std::to_string(::getpid())});
  merge_metrics(all, detail::collect_process_metrics(), daemon);
  auto processes = detail::try_ask<owner_list>(sys, node.control, timeout, processes_atom::value);
  for (auto& core : processes ? processes->cores : std::vector<core_actor>{}) {
    auto bytes = detail::try_ask<std::vector<char>>(sys, core, timeout, metrics_atom::value);
    if (!bytes)
      continue; // ended meanwhile, or busy past the timeout: left out of this scrape
    try {
      merge_metrics(all, decode_metrics(*bytes), at_node); // labelled with its pid
    } catch (const std::exception& e) {
      spdlog::warn("metrics: a process sent metrics that are not valid: {}", e.what());
    }
  }
  return metrics_text(all);
}

} // namespace troupe
