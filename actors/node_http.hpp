#pragma once

// A node's HTTP servers (cpp-httplib, their own threads). Every node serves
//
//     GET /metrics   the node's metrics, Prometheus's text format (node_metrics.hpp)
//     GET /healthz   200 "ok" while the node's control store answers within
//                    2 s, else 503 with why: liveness and readiness probes
//
// on `--metrics-port`, and the head its dashboard (dashboard.hpp) on
// `--dashboard-port`, both on loopback unless told otherwise: they name the
// cluster's functions and actors.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <caf/fwd.hpp>

#include "lib/protocol/messages.hpp"

namespace httplib {
class Server;
} // namespace httplib

namespace troupe {

class node_http {
public:
  /// Puts the server's routes in place.
  using routes = std::function<void(httplib::Server&)>;

  /// Listens on `bind:port` (port 0: any free one) and serves `install`'s
  /// routes; throws std::runtime_error saying why it cannot listen.
  node_http(const std::string& bind, std::uint16_t port, const routes& install);
  /// Stops serving, and waits for its threads.
  ~node_http();
  node_http(const node_http&) = delete;
  node_http& operator=(const node_http&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// `HOST:PORT` where others reach it (for 0.0.0.0, the machine's address).
  [[nodiscard]] std::string address() const;

private:
  std::unique_ptr<httplib::Server> server_;
  std::string bind_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

/// `GET /healthz` of the node whose control store is `cs`.
void health_route(httplib::Server& s, caf::actor_system& sys, const control_store_actor& cs);

/// `GET /metrics` and `/healthz` of `node` (with the cluster's, given the
/// head's `cluster` scheduler).
void metrics_routes(httplib::Server& s, caf::actor_system& sys, const node_info& node,
                    const cluster_scheduler_actor& cluster);

} // namespace troupe
