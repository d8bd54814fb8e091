#include "actors/node_servers.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/dashboard.hpp"
#include "lib/common/config.hpp"
#include "lib/net/security.hpp"

namespace troupe {

namespace {

std::unique_ptr<node_http> start_dashboard(caf::actor_system& sys,
                                           const control_store_actor& cs,
                                           const node_options& opts) {
  auto routes = [&sys, cs](httplib::Server& s) {
    dashboard_routes(s, sys, cs, detail::env_or(net::token_variable, ""));
    health_route(s, sys, cs);
  };
  auto port = static_cast<std::uint16_t>(opts.dashboard_port);
  try {
    return std::make_unique<node_http>(opts.dashboard_bind, port, routes);
  } catch (const std::exception& e) {
    if (port == 0)
      throw;
    // Another cluster's on this machine: Ray's port is taken, not the dashboard.
    spdlog::info("{}: the dashboard takes any free port", e.what());
    return std::make_unique<node_http>(opts.dashboard_bind, 0, routes);
  }
}

} // namespace

std::string node_servers::endpoints() const {
  nlohmann::json doc = nlohmann::json::object();
  if (metrics)
    doc["metrics"] = metrics->address();
  if (dashboard)
    doc["dashboard"] = dashboard->address();
  return doc.dump();
}

node_servers start_node_servers(caf::actor_system& sys, const node_info& node,
                                const control_store_actor& cs,
                                const cluster_scheduler_actor& cluster,
                                const node_options& opts) {
  node_servers out;
  if (opts.metrics_port >= 0) {
    try {
      out.metrics = std::make_unique<node_http>(
        opts.metrics_bind, static_cast<std::uint16_t>(opts.metrics_port),
        [&sys, node, cluster](httplib::Server& s) { metrics_routes(s, sys, node, cluster); });
      spdlog::info("metrics at http://{}/metrics", out.metrics->address());
    } catch (const std::exception& e) {
      spdlog::warn("no metrics: {}", e.what());
    }
  }
  if (cluster && opts.dashboard_port >= 0) {
    try {
      out.dashboard = start_dashboard(sys, cs, opts);
      spdlog::info("dashboard at http://{}", out.dashboard->address());
    } catch (const std::exception& e) {
      spdlog::warn("no dashboard: {}", e.what());
    }
  }
  return out;
}

} // namespace troupe
