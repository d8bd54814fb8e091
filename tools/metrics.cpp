#include "tools/metrics.hpp"

#include <iostream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tools/cli_session.hpp"
#include "tools/status.hpp"

namespace troupe::tools {

std::string http_get(const std::string& host_port, const std::string& path) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("'" + host_port + "' is not HOST:PORT");
  httplib::Client client{host_port.substr(0, colon), std::stoi(host_port.substr(colon + 1))};
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(10));
  auto res = client.Get(path);
  if (!res)
    throw std::runtime_error("GET http://" + host_port + path + " failed: "
                             + httplib::to_string(res.error()));
  if (res->status != 200)
    throw std::runtime_error("GET http://" + host_port + path + " answered "
                             + std::to_string(res->status) + ": " + res->body);
  return res->body;
}

int run_metrics(std::string address, std::uint64_t node) {
  return run_on_cluster("metrics", std::move(address), [&](cli_session& s) {
    bool found = false;
    for (auto& n : s.nodes().nodes) {
      if ((node != 0 && n.node_id != node) || !n.alive)
        continue;
      found = true;
      auto endpoints = nlohmann::json::parse(
        s.ask<std::string>("a node's control store", n.control, metrics_atom::value));
      auto at = endpoints.value("metrics", std::string{});
      if (at.empty()) {
        std::cerr << "troupe metrics: node " << n.node_id << " serves no metrics "
                  << "(started with --metrics-port -1)\n";
        continue;
      }
      if (node == 0)
        std::cout << "# node " << n.node_id << " (http://" << at << "/metrics)\n";
      std::cout << http_get(at, "/metrics");
    }
    if (!found) {
      std::cerr << "troupe metrics: the cluster has no living node " << node << "\n";
      return 1;
    }
    return 0;
  });
}

} // namespace troupe::tools
