#include "tools/status.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <type_traits>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "lib/common/ask.hpp"
#include "lib/common/config.hpp"
#include "lib/net/security.hpp"
#include "lib/net/transport.hpp"
#include "lib/protocol/messages.hpp"
#include "scheduler/resources.hpp"
#include "tools/cli_session.hpp"
#include "tools/format.hpp"
#include "tools/node_commands.hpp"

namespace troupe::tools {

using namespace std::chrono_literals;

std::string query_cluster(const std::string& host, std::uint16_t port, cluster_status& out,
                          bool with_processes) {
  std::unique_ptr<cli_session> session;
  try {
    session = std::make_unique<cli_session>(host, port);
  } catch (const std::exception& e) {
    return e.what();
  }
  out.insecure = session->insecure();
  out.cluster_id = session->cluster_id();
  return troupe::query_cluster(session->system(), session->control(), out, with_processes);
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

std::string format_resources(const resource_map& rs) {
  std::string out;
  for (auto& [name, amount] : rs)
    out += (out.empty() ? "" : ", ") + name + ": " + sched::format_amount(name, amount);
  return "{" + out + "}";
}

/// The store's objects that live on disk (spilled, or larger than it).
void print_on_disk(const store_status& s) {
  if (s.spill_dir.empty()) {
    std::cout << "    spilling: off (a full store refuses objects)\n";
    return;
  }
  std::cout << "    on disk: " << s.spilled_objects << " spilled objects ("
            << format_bytes(static_cast<double>(s.spilled_bytes)) << "), "
            << s.fallback_objects << " larger than the store ("
            << format_bytes(static_cast<double>(s.fallback_bytes)) << "), in " << s.spill_dir
            << "\n";
}

/// Each job's share of the store, against the limit.
void print_job_shares(const store_status& s) {
  if (s.job_limit == 0 && s.jobs.empty())
    return;
  std::cout << "    jobs' shares (limit "
            << (s.job_limit == 0 ? std::string{"none"}
                                 : format_bytes(static_cast<double>(s.job_limit)))
            << "):";
  for (auto& [job, bytes] : s.jobs)
    std::cout << " job " << job << " " << format_bytes(static_cast<double>(bytes)) << ";";
  std::cout << "\n";
}

/// Says how the cluster is secured, loudly when it is not.
void print_security(const cluster_status& st) {
  if (st.insecure)
    std::cout << "\n*** WARNING: this cluster runs WITHOUT TLS (--insecure). Anyone who "
                 "can reach its ports can run code on it, read its objects and stop "
                 "it. ***\n\n";
  else
    std::cout << "security: mutual TLS, cluster " << st.cluster_id << "\n";
}

void print_summary(const cluster_status& st) {
  std::size_t alive = 0, jobs_alive = 0;
  for (auto& n : st.nodes)
    alive += n.info.alive;
  for (auto& j : st.control.jobs)
    jobs_alive += j.alive;
  std::cout << "cluster at " << st.address << ": " << st.nodes.size() << " node"
            << (st.nodes.size() == 1 ? "" : "s") << " (" << alive << " alive, "
            << st.nodes.size() - alive << " dead), " << jobs_alive << " job"
            << (jobs_alive == 1 ? "" : "s") << " connected, " << st.control.jobs.size()
            << " since start\n";
  print_security(st);
  if (!st.dashboard.empty())
    std::cout << "dashboard: http://" << st.dashboard << "\n";
  std::map<std::string, std::pair<double, double>> sum; // name -> used, total
  std::vector<std::string> pending;
  for (auto& n : st.nodes) {
    std::cout << "\nnode " << n.info.node_id << " " << n.info.host << ":" << n.info.port
              << (n.info.node_id == 1 ? " (head)" : "") << ": "
              << (!n.info.alive ? "dead" : !n.scheduler ? "not answering" : "alive") << "\n";
    if (!n.info.alive || !n.scheduler)
      continue;
    auto& sched = *n.scheduler;
    std::cout << "  resources (used / total):";
    for (auto& [name, amount] : sched.total) {
      auto avail = sched.available.find(name);
      auto used = amount - (avail == sched.available.end() ? amount : avail->second);
      std::cout << " " << name << " " << sched::format_amount(name, used) << "/"
                << sched::format_amount(name, amount);
      sum[name].first += used;
      sum[name].second += amount;
    }
    auto& w = sched.workers;
    std::cout << "\n  workers: " << w.idle << " idle, " << w.leased << " leased, " << w.starting
              << " starting, " << w.blocked << " blocked\n";
    for (auto& d : sched.pending_demands)
      pending.push_back("node " + std::to_string(n.info.node_id) + ": " + format_resources(d));
    if (n.store) {
      auto capacity = static_cast<double>(n.store->capacity);
      auto used = static_cast<double>(n.store->bytes_in_use);
      std::cout << "  object store: " << format_bytes(used) << " used of "
                << format_bytes(capacity) << " ("
                << (capacity > 0 ? format_number(std::round(used / capacity * 1000) / 10)
                                 : "0")
                << "%), " << n.store->objects << " objects, mapped by "
                << n.store->processes << " processes";
      if (n.store->recoveries > 0)
        std::cout << ", lock taken over from a killed holder " << n.store->recoveries
                  << " time(s)";
      std::cout << "\n";
      print_on_disk(*n.store);
      print_job_shares(*n.store);
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
  auto& infeasible = st.cluster.infeasible;
  std::cout << "\ndemands no node can serve: " << (infeasible.empty() ? "none\n" : "\n");
  for (auto& why : infeasible)
    std::cout << "  " << why << "\n";
  auto& groups = st.cluster.placement_groups;
  if (!groups.empty()) {
    std::cout << "placement groups:\n";
    for (auto& g : groups) {
      std::cout << "  " << g.id << " " << g.state << " bundles on nodes";
      for (auto n : g.nodes)
        std::cout << " " << n;
      if (!g.why.empty())
        std::cout << " (" << g.why << ")";
      std::cout << "\n";
    }
  }
}

/// Prints the cluster status as one JSON object.
void print_json(const cluster_status& st) {
  auto nodes = nlohmann::ordered_json::array();
  for (auto& n : st.nodes)
    nodes.push_back(node_json(n, true));
  nlohmann::ordered_json doc = {
      {"address", st.address}, {"insecure", st.insecure}, {"cluster_id", st.cluster_id},
      {"control", st.control}, {"cluster", st.cluster}, {"nodes", nodes},
      {"dashboard", st.dashboard.empty() ? "" : "http://" + st.dashboard}};
  std::cout << doc.dump() << "\n";
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
