#include "tools/status.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <vector>
#include <sstream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "lib/common/config.hpp"
#include "lib/protocol/messages.hpp"
#include "scheduler/resources.hpp"
#include "tools/json_lite.hpp"
#include "tools/node_commands.hpp"

namespace troupe::tools {

namespace {

using namespace std::chrono_literals;

} // namespace

std::string query_cluster(const std::string& host, std::uint16_t port, cluster_status& out,
                          bool with_processes) {
  auto cfg = detail::make_system_config();
  caf::actor_system sys{*cfg};
  auto cs = sys.middleman().remote_actor<control_store_actor>(host, port);
  if (!cs)
    return "cannot reach a troupe node at " + host + ":" + std::to_string(port) + ": " +
           sys.render(cs.error());
  std::string failure;
  auto on_error = [&](std::string what) {
    return [&, what](caf::error& e) {
      if (failure.empty())
        failure = what + " did not answer: " + sys.render(e);
    };
  };
  // Declared after the actor system, so every handle dies before it: its
  // destructor waits for the actors still referenced.
  caf::scoped_actor self{sys};
  node_info info;
  self->request(*cs, 5s, node_atom::value)
      .receive([&](node_info& n) { info = std::move(n); }, on_error("the control store"));
  node_list list;
  self->request(*cs, 5s, nodes_atom::value)
      .receive([&](node_list& l) { list = std::move(l); }, on_error("the control store"));
  self->request(*cs, 5s, status_atom::value)
      .receive([&](std::string& s) { out.control = std::move(s); },
               on_error("the control store"));
  if (!failure.empty())
    return failure;
  self->request(info.cluster, 5s, status_atom::value)
      .receive([&](std::string& s) { out.cluster = std::move(s); },
               on_error("the cluster scheduler"));
  for (auto& n : list.nodes) {
    node_status ns;
    ns.info = n;
    if (n.alive) {
      // A node that does not answer is reported as such, not as a failure.
      auto ignore = [](caf::error&) {};
      self->request(n.scheduler, 5s, status_atom::value)
          .receive([&](std::string& s) { ns.scheduler = std::move(s); }, ignore);
      self->request(n.store_manager, 5s, stats_atom::value)
          .receive([&](std::string& s) { ns.store = std::move(s); }, ignore);
    }
    out.nodes.push_back(std::move(ns));
  }
  if (with_processes) {
    owner_list owners;
    self->request(*cs, 5s, owner_atom::value)
        .receive([&](owner_list& l) { owners = std::move(l); }, on_error("the control store"));
    // Processes that ended meanwhile do not answer: they have nothing to list.
    for (auto& core : owners.cores)
      self->request(core, 2s, status_atom::value)
          .receive([&](std::string& s) { out.processes.push_back(std::move(s)); },
                   [](caf::error&) {});
  }
  return failure;
}

namespace {

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4)
    bytes /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::string format_resources(const json_value& rs) {
  std::string out;
  for (auto& [name, amount] : rs.members)
    out += (out.empty() ? "" : ", ") + name + ": " + sched::format_amount(name, amount.num());
  return "{" + out + "}";
}

void print_summary(const cluster_status& st) {
  auto control = parse_json(st.control);
  auto cluster = parse_json(st.cluster);
  std::size_t alive = 0, jobs_alive = 0;
  for (auto& n : st.nodes)
    alive += n.info.alive;
  for (auto& j : control["jobs"].items)
    jobs_alive += j["alive"].boolean;
  std::cout << "cluster at " << st.address << ": " << st.nodes.size() << " node"
            << (st.nodes.size() == 1 ? "" : "s") << " (" << alive << " alive, "
            << st.nodes.size() - alive << " dead), " << jobs_alive << " job"
            << (jobs_alive == 1 ? "" : "s") << " connected, " << control["jobs"].items.size()
            << " since start\n";
  std::map<std::string, std::pair<double, double>> sum; // name -> used, total
  std::vector<std::string> pending;
  for (auto& n : st.nodes) {
    std::cout << "\nnode " << n.info.node_id << " " << n.info.host << ":" << n.info.port
              << (n.info.node_id == 1 ? " (head)" : "") << ": "
              << (!n.info.alive ? "dead" : n.scheduler.empty() ? "not answering" : "alive")
              << "\n";
    if (!n.info.alive || n.scheduler.empty())
      continue;
    auto sched = parse_json(n.scheduler);
    std::cout << "  resources (used / total):";
    for (auto& [name, amount] : sched["total"].members) {
      auto used = amount.num() - sched["available"][name].num(amount.num());
      std::cout << " " << name << " " << sched::format_amount(name, used) << "/"
                << sched::format_amount(name, amount.num());
      sum[name].first += used;
      sum[name].second += amount.num();
    }
    auto& w = sched["workers"];
    std::cout << "\n  workers: " << w["idle"].num() << " idle, " << w["leased"].num()
              << " leased, " << w["starting"].num() << " starting, " << w["blocked"].num()
              << " blocked\n";
    for (auto& d : sched["pending_demands"].items)
      pending.push_back("node " + std::to_string(n.info.node_id) + ": "
                        + format_resources(d));
    if (!n.store.empty()) {
      auto store = parse_json(n.store);
      auto capacity = store["capacity"].num();
      auto used = store["bytes_in_use"].num();
      std::cout << "  object store: " << format_bytes(used) << " used of "
                << format_bytes(capacity) << " ("
                << (capacity > 0 ? format_number(std::round(used / capacity * 1000) / 10)
                                 : "0")
                << "%), " << store["objects"].num() << " objects\n";
    }
  }
  std::cout << "\ntotal resources (used / total):";
  for (auto& [name, ut] : sum)
    std::cout << " " << name << " " << sched::format_amount(name, ut.first) << "/"
              << sched::format_amount(name, ut.second);
  std::cout << "\npending demands (waiting for resources): ";
  if (pending.empty())
    std::cout << "none";
  for (std::size_t i = 0; i < pending.size(); ++i)
    std::cout << (i ? ", " : "") << pending[i];
  auto& infeasible = cluster["infeasible"].items;
  std::cout << "\ndemands no node can serve: " << (infeasible.empty() ? "none\n" : "\n");
  for (auto& why : infeasible)
    std::cout << "  " << why.text << "\n";
  auto& groups = cluster["placement_groups"].items;
  if (!groups.empty()) {
    std::cout << "placement groups:\n";
    for (auto& g : groups) {
      std::cout << "  " << g["id"].num() << " " << g["state"].text << " bundles on nodes";
      for (auto& n : g["nodes"].items)
        std::cout << " " << n.num();
      if (!g["why"].text.empty())
        std::cout << " (" << g["why"].text << ")";
      std::cout << "\n";
    }
  }
}

/// Prints the cluster status as one JSON object.
void print_json(const cluster_status& st) {
  std::cout << "{\"address\":\"" << st.address << "\",\"control\":" << st.control
            << ",\"cluster\":" << (st.cluster.empty() ? "null" : st.cluster)
            << ",\"nodes\":[";
  for (std::size_t i = 0; i < st.nodes.size(); ++i) {
    auto& n = st.nodes[i];
    std::cout << (i ? "," : "") << "{\"id\":" << n.info.node_id << ",\"address\":\""
              << n.info.host << ':' << n.info.port << "\",\"alive\":"
              << (n.info.alive ? "true" : "false") << ",\"scheduler\":"
              << (n.scheduler.empty() ? "null" : n.scheduler)
              << ",\"store\":" << (n.store.empty() ? "null" : n.store) << '}';
  }
  std::cout << "]}\n";
}

} // namespace

int parse_address(std::string& address, std::string& host, std::uint16_t& port,
                  std::string& why) {
  try {
    if (address.empty())
      address = default_address();
  } catch (const std::exception& e) {
    why = e.what();
    return 1;
  }
  auto colon = address.rfind(':');
  int p = 0;
  try {
    if (colon != std::string::npos)
      p = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (colon == std::string::npos || colon == 0 || p <= 0 || p > 65535) {
    why = "address '" + address + "' is not HOST:PORT";
    return 2;
  }
  host = address.substr(0, colon);
  port = static_cast<std::uint16_t>(p);
  return 0;
}

int run_status(std::string address, bool json) {
  std::string host, why;
  std::uint16_t port = 0;
  if (auto rc = parse_address(address, host, port, why); rc != 0) {
    std::cerr << "troupe status: " << why << "\n";
    return rc;
  }
  cluster_status st;
  st.address = address;
  auto failure = query_cluster(host, port, st, false);
  if (!failure.empty()) {
    std::cerr << "troupe status: " << failure << "\n";
    return 1;
  }
  try {
    if (json)
      print_json(st);
    else
      print_summary(st);
  } catch (const std::exception& e) {
    std::cerr << "troupe status: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

} // namespace troupe::tools
