#include "tools/status.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/control_store.hpp"
#include "lib/src/config.hpp"
#include "scheduler/local_scheduler.hpp"
#include "store/store_manager.hpp"
#include "tools/json_lite.hpp"
#include "tools/node_commands.hpp"

namespace troupe::tools {

namespace {

using namespace std::chrono_literals;

/// The three self-descriptions of a node, as JSON text.
struct node_status {
  std::string address; ///< where we reached the node
  std::uint64_t node_id = 0;
  std::string node;
  std::string scheduler;
  std::string store;
};

/// Asks the node at `host:port` to describe itself; returns an error message
/// or an empty string.
std::string query(const std::string& host, std::uint16_t port, node_status& out) {
  auto cfg = detail::make_system_config();
  caf::actor_system sys{*cfg};
  auto cs = sys.middleman().remote_actor<control_store_actor>(host, port);
  if (!cs)
    return "cannot reach a troupe node at " + host + ":" + std::to_string(port) + ": " +
           sys.render(cs.error());
  std::string failure;
  auto on_error = [&](const char* what) {
    return [&, what](caf::error& e) {
      if (failure.empty())
        failure = std::string{what} + " did not answer: " + sys.render(e);
    };
  };
  // Declared after the actor system, so every handle dies before it: its
  // destructor waits for the actors still referenced.
  caf::scoped_actor self{sys};
  node_info info;
  self->request(*cs, 5s, node_atom::value)
      .receive([&](node_info& n) { info = std::move(n); }, on_error("the control store"));
  if (!failure.empty())
    return failure;
  // JSON numbers are doubles to most readers: the id comes from node_info.
  out.node_id = info.node_id;
  self->request(*cs, 5s, status_atom::value)
      .receive([&](std::string& s) { out.node = std::move(s); },
               on_error("the control store"));
  auto sched = caf::actor_cast<sched::local_scheduler_actor>(info.scheduler);
  self->request(sched, 5s, status_atom::value)
      .receive([&](std::string& s) { out.scheduler = std::move(s); },
               on_error("the local scheduler"));
  auto store = caf::actor_cast<store::store_manager_actor>(info.store_manager);
  self->request(store, 5s, stats_atom::value)
      .receive([&](std::string& s) { out.store = std::move(s); },
               on_error("the object-store manager"));
  return failure;
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4)
    bytes /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::string format_amount(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

std::string format_resources(const json_value& rs) {
  std::string out;
  for (auto& [name, amount] : rs.members)
    out += (out.empty() ? "" : ", ") + name + ": " + format_amount(amount.num());
  return "{" + out + "}";
}

void print_summary(const node_status& st) {
  auto node = parse_json(st.node);
  auto sched = parse_json(st.scheduler);
  auto store = parse_json(st.store);
  std::size_t jobs_alive = 0;
  for (auto& j : node["jobs"].items)
    jobs_alive += j["alive"].boolean;
  // The address we reached it at: the control store's own says port 0
  // (node_daemon.cpp hands it node_info before the port is known).
  std::cout << "node " << st.address << " (id " << st.node_id
            << "): " << (node["node"]["alive"].boolean ? "alive" : "not alive") << "\n"
            << "jobs: " << jobs_alive << " connected, " << node["jobs"].items.size()
            << " since start\n"
            << "resources (used / total):\n";
  auto& total = sched["total"];
  for (auto& [name, amount] : total.members) {
    auto used = amount.num() - sched["available"][name].num(amount.num());
    std::cout << "  " << name << " " << format_amount(used) << " / "
              << format_amount(amount.num()) << "\n";
  }
  auto& w = sched["workers"];
  std::cout << "workers: " << w["idle"].num() << " idle, " << w["leased"].num()
            << " leased, " << w["starting"].num() << " starting, " << w["blocked"].num()
            << " blocked\n";
  auto& pending = sched["pending_demands"].items;
  std::cout << "pending demands: ";
  if (pending.empty())
    std::cout << "none";
  for (std::size_t i = 0; i < pending.size(); ++i)
    std::cout << (i ? ", " : "") << format_resources(pending[i]);
  auto capacity = store["capacity"].num();
  auto used = store["bytes_in_use"].num();
  std::cout << "\nobject store: " << format_bytes(used) << " used of "
            << format_bytes(capacity) << " ("
            << (capacity > 0 ? format_amount(std::round(used / capacity * 1000) / 10)
                             : "0")
            << "%), " << store["objects"].num() << " objects, "
            << format_bytes(store["free"].num()) << " free\n";
}

} // namespace

int run_status(std::string address, bool json) {
  try {
    if (address.empty())
      address = default_address();
  } catch (const std::exception& e) {
    std::cerr << "troupe status: " << e.what() << "\n";
    return 1;
  }
  auto colon = address.rfind(':');
  int port = 0;
  try {
    if (colon != std::string::npos)
      port = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (colon == std::string::npos || colon == 0 || port <= 0 || port > 65535) {
    std::cerr << "troupe status: address '" << address << "' is not HOST:PORT\n";
    return 2;
  }
  node_status st;
  st.address = address;
  auto failure = query(address.substr(0, colon), static_cast<std::uint16_t>(port), st);
  if (!failure.empty()) {
    std::cerr << "troupe status: " << failure << "\n";
    return 1;
  }
  if (json) {
    std::cout << "{\"address\":\"" << st.address << "\",\"node_id\":\"" << st.node_id
              << "\",\"node\":" << st.node << ",\"scheduler\":" << st.scheduler
              << ",\"store\":" << st.store << "}\n";
    return 0;
  }
  try {
    print_summary(st);
  } catch (const std::exception& e) {
    std::cerr << "troupe status: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

} // namespace troupe::tools
