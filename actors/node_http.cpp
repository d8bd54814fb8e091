#include "actors/node_http.hpp"

#include <stdexcept>

#include <caf/all.hpp>
#include <httplib.h>

#include "actors/node_daemon.hpp"
#include "actors/node_metrics.hpp"
#include "lib/common/ask.hpp"

namespace troupe {

node_http::node_http(const std::string& bind, std::uint16_t port, const routes& install)
  : server_(std::make_unique<httplib::Server>()), bind_(bind) {
  auto& s = *server_;
  // Scrapes, probes and a dashboard's refreshes are few: two threads.
  s.new_task_queue = [] { return new httplib::ThreadPool(2); };
  s.set_read_timeout(std::chrono::seconds(5));
  install(s);
  int bound = port == 0 ? s.bind_to_any_port(bind) : (s.bind_to_port(bind, port) ? port : -1);
  if (bound <= 0)
    throw std::runtime_error("cannot listen for HTTP on " + bind + ":" + std::to_string(port));
  port_ = static_cast<std::uint16_t>(bound);
  thread_ = std::thread{[this] { server_->listen_after_bind(); }};
}

node_http::~node_http() {
  server_->stop();
  if (thread_.joinable())
    thread_.join();
}

std::string node_http::address() const {
  // Bound to every address: the one other machines reach this node at.
  return advertised_host(bind_) + ":" + std::to_string(port_);
}

void health_route(httplib::Server& s, caf::actor_system& sys, const control_store_actor& cs) {
  s.Get("/healthz", [&sys, cs](const httplib::Request&, httplib::Response& res) {
    auto r = detail::try_ask<node_info>(sys, cs, std::chrono::seconds(2), node_atom::value);
    if (r) {
      res.set_content("ok\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("the node's control store does not answer: " + sys.render(r.error()) + "\n",
                      "text/plain");
    }
  });
}

void metrics_routes(httplib::Server& s, caf::actor_system& sys, const node_info& node,
                    const cluster_scheduler_actor& cluster) {
  s.Get("/metrics", [&sys, node, cluster](const httplib::Request&, httplib::Response& res) {
    res.set_content(scrape_node(sys, node, cluster, std::chrono::seconds(2)),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  health_route(s, sys, node.control);
}

} // namespace troupe
