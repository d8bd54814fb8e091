#pragma once

// A node daemon's HTTP servers (node_http.hpp): its metrics and health on
// every node, and the dashboard on the head.

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/node_daemon.hpp"
#include "actors/node_http.hpp"

namespace troupe {

struct node_servers {
  std::unique_ptr<node_http> metrics;
  std::unique_ptr<node_http> dashboard;

  /// `{"metrics": "HOST:PORT", "dashboard": "HOST:PORT"}`, those that run:
  /// what the control store answers `metrics` with.
  [[nodiscard]] std::string endpoints() const;
};

/// Starts the servers `opts` asks for (the dashboard only with the head's
/// `cluster` scheduler). One that cannot listen costs a warning, not the
/// node; a dashboard whose port is taken (another cluster's 8265) takes a
/// free one.
node_servers start_node_servers(caf::actor_system& sys, const node_info& node,
                                const control_store_actor& cs,
                                const cluster_scheduler_actor& cluster,
                                const node_options& opts);

} // namespace troupe
