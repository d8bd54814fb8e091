// `troupe list nodes|actors|placement-groups|tasks|objects`: tables of what
// the cluster's system actors and processes describe.

#include <cstdint>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scheduler/resources.hpp"
#include "tools/format.hpp"
#include "tools/status.hpp"

namespace troupe::tools {

namespace {

std::string resources(const resource_map& rs) {
  std::string out;
  for (auto& [name, v] : rs)
    out += (out.empty() ? "" : ",") + name + "="
           + (name == "memory" ? sched::format_amount(name, v) : format_number(v));
  return out.empty() ? "-" : out;
}

/// Returns a cell of a table: resources as `name=amount,...`, a list as its
/// length.
std::string text(const nlohmann::json& v) {
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_object())
    return resources(v.get<resource_map>());
  if (v.is_array())
    return std::to_string(v.size());
  if (v.is_number_float())
    return format_number(v.get<double>());
  return v.dump();
}

/// Returns the rows of a status document, each with its keys sorted.
template <class Row>
std::vector<nlohmann::json> sorted_rows(const std::vector<Row>& rows) {
  std::vector<nlohmann::json> out;
  for (auto& row : rows)
    out.emplace_back(nlohmann::ordered_json(row));
  return out;
}

int list_nodes(const cluster_status& st, bool json) {
  if (json) {
    auto out = nlohmann::ordered_json::array();
    for (auto& n : st.nodes)
      out.push_back(node_json(n, false));
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::map<std::uint64_t, const node_load*> views;
  for (auto& n : st.cluster.nodes)
    views[n.id] = &n;
  table t;
  t.rows.push_back({"ID", "ADDRESS", "STATE", "TOTAL", "AVAILABLE", "QUEUED"});
  for (auto& n : st.nodes) {
    auto* v = views.count(n.info.node_id) ? views[n.info.node_id] : nullptr;
    t.rows.push_back({std::to_string(n.info.node_id) + (n.info.node_id == 1 ? " (head)" : ""),
                      n.info.host + ":" + std::to_string(n.info.port),
                      n.info.alive ? "alive" : "dead",
                      v ? resources(v->total) : "-",
                      n.info.alive && v ? resources(v->available) : "-",
                      v ? std::to_string(v->queued) : "-"});
  }
  t.print();
  return 0;
}

/// Prints `items` as a table of the columns `keys`, or with `json` as one
/// array.
int list_from(const std::vector<nlohmann::json>& items, const std::vector<std::string>& keys,
              bool json) {
  if (json) {
    std::cout << nlohmann::json(items).dump() << "\n";
    return 0;
  }
  table t;
  std::vector<std::string> header;
  for (auto& k : keys) {
    std::string h;
    for (char c : k)
      h += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    header.push_back(h);
  }
  t.rows.push_back(header);
  for (auto& item : items) {
    std::vector<std::string> row;
    for (auto& k : keys)
      row.push_back(text(item.at(k)));
    t.rows.push_back(std::move(row));
  }
  t.print();
  return 0;
}

} // namespace

int run_list(const std::string& what, std::string address, bool json) {
  std::string host, why;
  std::uint16_t port = 0;
  if (auto rc = parse_address(address, host, port, why); rc != 0) {
    std::cerr << "troupe list: " << why << "\n";
    return rc;
  }
  bool processes = what == "tasks" || what == "objects";
  cluster_status st;
  st.address = address;
  if (auto failure = query_cluster(host, port, st, processes); !failure.empty()) {
    std::cerr << "troupe list: " << failure << "\n";
    return 1;
  }
  try {
    if (what == "nodes")
      return list_nodes(st, json);
    if (what == "actors")
      return list_from(sorted_rows(st.control.actors),
                       {"id", "class", "name", "namespace", "state", "node", "death"}, json);
    if (what == "placement-groups")
      return list_from(sorted_rows(st.cluster.placement_groups),
                       {"id", "state", "bundles", "nodes", "why"}, json);
    // Tasks and objects: every process's own, with its owner and pid.
    std::vector<nlohmann::json> all;
    for (auto& p : st.processes) {
      auto rows = what == "tasks" ? sorted_rows(p.tasks) : sorted_rows(p.objects);
      for (auto& row : rows) {
        row["owner_pid"] = p.pid;
        row["owner_role"] = p.role;
        all.push_back(std::move(row));
      }
    }
    if (what == "tasks")
      return list_from(all, {"id", "name", "state", "node", "attempt", "last_failure", "owner_pid",
                                 "owner_role"}, json);
    return list_from(all, {"id", "state", "size", "node", "where", "owned", "owner_pid", "file"},
                     json);
  } catch (const std::exception& e) {
    std::cerr << "troupe list: " << e.what() << "\n";
    return 1;
  }
}

} // namespace troupe::tools
