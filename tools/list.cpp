// `troupe list nodes|actors|placement-groups|tasks|objects`: tables of what
// the cluster's system actors and processes describe.

#include <iomanip>
#include <iostream>
#include <sstream>

#include "scheduler/resources.hpp"
#include "tools/json_lite.hpp"
#include "tools/status.hpp"

namespace troupe::tools {

namespace {

std::string resources(const json_value& rs) {
  std::string out;
  for (auto& [name, v] : rs.members)
    out += (out.empty() ? "" : ",") + name + "="
           + (name == "memory" ? sched::format_amount(name, v.num()) : format_number(v.num()));
  return out.empty() ? "-" : out;
}

/// A table: a header row and rows of cells, printed in aligned columns.
struct table {
  std::vector<std::vector<std::string>> rows;

  void print() const {
    std::vector<std::size_t> width;
    for (auto& r : rows)
      for (std::size_t i = 0; i < r.size(); ++i) {
        width.resize(std::max(width.size(), r.size()));
        width[i] = std::max(width[i], r[i].size());
      }
    for (auto& r : rows) {
      for (std::size_t i = 0; i < r.size(); ++i)
        std::cout << (i ? "  " : "") << std::left
                  << std::setw(static_cast<int>(i + 1 < r.size() ? width[i] : 0)) << r[i];
      std::cout << "\n";
    }
  }
};

std::string json_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i ? "," : "") + items[i];
  return out + "]";
}

std::string text(const json_value& v) {
  if (v.type == json_value::kind::string)
    return v.text;
  if (v.type == json_value::kind::boolean)
    return v.boolean ? "true" : "false";
  return format_number(v.num());
}

int list_nodes(const cluster_status& st, bool json) {
  auto cluster = parse_json(st.cluster);
  std::map<double, const json_value*> views;
  for (auto& n : cluster["nodes"].items)
    views[n["id"].num()] = &n;
  if (json) {
    std::vector<std::string> out;
    for (auto& n : st.nodes)
      out.push_back("{\"id\":" + std::to_string(n.info.node_id) + ",\"address\":\""
                    + n.info.host + ":" + std::to_string(n.info.port) + "\",\"alive\":"
                    + (n.info.alive ? "true" : "false") + ",\"scheduler\":"
                    + (n.scheduler.empty() ? "null" : n.scheduler) + "}");
    std::cout << json_array(out) << "\n";
    return 0;
  }
  table t;
  t.rows.push_back({"ID", "ADDRESS", "STATE", "TOTAL", "AVAILABLE", "QUEUED"});
  for (auto& n : st.nodes) {
    auto* v = views.count(n.info.node_id) ? views[n.info.node_id] : nullptr;
    t.rows.push_back({std::to_string(n.info.node_id) + (n.info.node_id == 1 ? " (head)" : ""),
                      n.info.host + ":" + std::to_string(n.info.port),
                      n.info.alive ? "alive" : "dead",
                      v ? resources((*v)["total"]) : "-",
                      n.info.alive && v ? resources((*v)["available"]) : "-",
                      v ? format_number((*v)["queued"].num()) : "-"});
  }
  t.print();
  return 0;
}

int list_from(const json_value& items, const std::vector<std::string>& keys, bool json,
              const std::string& raw) {
  if (json) {
    std::cout << raw << "\n";
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
  for (auto& item : items.items) {
    std::vector<std::string> row;
    for (auto& k : keys)
      row.push_back(item[k].type == json_value::kind::object
                      ? resources(item[k])
                      : item[k].type == json_value::kind::array
                          ? std::to_string(item[k].items.size())
                          : text(item[k]));
    t.rows.push_back(std::move(row));
  }
  t.print();
  return 0;
}

/// Returns the JSON text of member `key` of `doc` (an array), by re-printing
/// only what is needed: the listed values are flat objects.
std::string flat_array_json(const json_value& arr) {
  std::vector<std::string> out;
  for (auto& item : arr.items) {
    std::string obj = "{";
    bool first = true;
    for (auto& [k, v] : item.members) {
      obj += (first ? "\"" : ",\"") + k + "\":";
      first = false;
      if (v.type == json_value::kind::string) {
        std::string esc;
        for (char c : v.text)
          esc += c == '"' || c == '\\' ? std::string{"\\"} + c : std::string{c};
        obj += "\"" + esc + "\"";
      } else if (v.type == json_value::kind::object) {
        std::string inner = "{";
        bool f2 = true;
        for (auto& [rk, rv] : v.members) {
          inner += (f2 ? "\"" : ",\"") + rk + "\":" + format_number(rv.num());
          f2 = false;
        }
        obj += inner + "}";
      } else if (v.type == json_value::kind::array) {
        std::string inner = "[";
        for (std::size_t i = 0; i < v.items.size(); ++i)
          inner += (i ? "," : "") + text(v.items[i]);
        obj += inner + "]";
      } else {
        obj += text(v);
      }
    }
    out.push_back(obj + "}");
  }
  return json_array(out);
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
    if (what == "actors") {
      auto doc = parse_json(st.control);
      auto& actors = doc["actors"];
      return list_from(actors, {"id", "class", "name", "namespace", "state", "node", "death"},
                       json, flat_array_json(actors));
    }
    if (what == "placement-groups") {
      auto doc = parse_json(st.cluster);
      auto& groups = doc["placement_groups"];
      return list_from(groups, {"id", "state", "bundles", "nodes", "why"}, json,
                       flat_array_json(groups));
    }
    // Tasks and objects: every process's own, with its owner and pid.
    json_value all;
    all.type = json_value::kind::array;
    for (auto& p : st.processes) {
      auto proc = parse_json(p);
      for (auto& item : proc[what].items) {
        auto row = item;
        row.members["owner_pid"] = proc["pid"];
        row.members["owner_role"] = proc["role"];
        all.items.push_back(std::move(row));
      }
    }
    if (what == "tasks")
      return list_from(all, {"id", "name", "state", "node", "owner_pid", "owner_role"}, json,
                       flat_array_json(all));
    return list_from(all, {"id", "state", "size", "node", "owned", "owner_pid"}, json,
                     flat_array_json(all));
  } catch (const std::exception& e) {
    std::cerr << "troupe list: " << e.what() << "\n";
    return 1;
  }
}

} // namespace troupe::tools
