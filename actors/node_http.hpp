#pragma once

// A node's HTTP server (cpp-httplib, its own threads):
//
//     GET /metrics   the node's metrics, Prometheus's text format (node_metrics.hpp)
//     GET /healthz   200 "ok" while the node's control store answers within
//                    2 s, else 503 with why: liveness and readiness probes
//
// It listens on loopback by default (`--metrics-bind`): metrics name the
// cluster's functions and actors.

#include <cstdint>
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
  /// Listens on `bind:port` (port 0: any free one) and serves `node`'s
  /// metrics (with the cluster's, given the head's `cluster` scheduler);
  /// throws std::runtime_error saying why it cannot listen.
  node_http(caf::actor_system& sys, node_info node, cluster_scheduler_actor cluster,
            const std::string& bind, std::uint16_t port);
  /// Stops serving, and waits for its threads.
  ~node_http();
  node_http(const node_http&) = delete;
  node_http& operator=(const node_http&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// `HOST:PORT` where it listens.
  [[nodiscard]] std::string address() const;

private:
  std::unique_ptr<httplib::Server> server_;
  std::string bind_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

} // namespace troupe
