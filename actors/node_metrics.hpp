#pragma once

// A node's metrics in Prometheus's format, as its metrics server serves them
// (`GET /metrics`, node_http.hpp) and `troupe metrics` prints them: gauges
// from its local scheduler's and store manager's status documents, on the
// head the cluster's (nodes, jobs, actors by state, each node's heartbeat
// age), and every metric of each of its processes (drivers and workers:
// tasks by state, task durations, the users' own), labelled with their
// `pid`. Every series carries `node`.

#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "lib/protocol/messages.hpp"
#include "lib/protocol/metrics_codec.hpp"
#include "lib/protocol/status.hpp"

namespace troupe {

/// The families of a node's own parts: workers, resources, store, pulls.
metric_families node_families(const local_scheduler_status& sched, const store_status& store);

/// The families of the cluster as its head sees it: nodes and jobs alive,
/// actors by state, each node's heartbeat age and queued demands.
metric_families head_families(const control_store_status& control,
                              const cluster_scheduler_status& cluster);

/// Asks this node's parts and processes for their metrics (each within
/// `timeout`; a part that does not answer is left out) and returns the text
/// exposition. `cluster` is the cluster scheduler on the head, else null.
std::string scrape_node(caf::actor_system& sys, const node_info& node,
                        const cluster_scheduler_actor& cluster,
                        std::chrono::milliseconds timeout);

} // namespace troupe
