#include "actors/dashboard.hpp"

#include <string_view>

#include <caf/all.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "actors/cluster_query.hpp"
#include "actors/dashboard_files.hpp"
#include "actors/job_table.hpp"
#include "actors/node_logs.hpp"
#include "lib/common/ask.hpp"

namespace troupe {

namespace {

using json = nlohmann::ordered_json;

/// The token a request carries: its Authorization header, `token`
/// parameter or cookie.
std::string token_of(const httplib::Request& req) {
  auto auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0)
    return auth.substr(7);
  if (req.has_param("token"))
    return req.get_param_value("token");
  auto cookies = req.get_header_value("Cookie");
  for (std::size_t at = 0; at < cookies.size();) {
    auto end = cookies.find(';', at);
    auto part = cookies.substr(at, end == std::string::npos ? std::string::npos : end - at);
    auto start = part.find_first_not_of(' ');
    if (start != std::string::npos && part.compare(start, 13, "troupe_token=") == 0)
      return part.substr(start + 13);
    at = end == std::string::npos ? cookies.size() : end + 1;
  }
  return {};
}

/// The jobs submitted to the head (`troupe job`), oldest first.
json submissions(caf::actor_system& sys, const control_store_actor& cs) {
  auto out = json::array();
  auto head = detail::try_ask<node_info>(sys, cs, std::chrono::seconds(5), node_atom::value);
  if (!head || !head->jobs)
    return out;
  auto rows = detail::try_ask<submitted_jobs>(sys, head->jobs, std::chrono::seconds(5),
                                              jobs_atom::value);
  if (rows)
    for (auto& r : rows->rows)
      out.push_back(submitted_job_json<json>(r));
  return out;
}

/// The cluster as the page shows it; `with_processes`: asks every driver
/// and worker for its tasks too (the tasks and errors need them).
json snapshot(caf::actor_system& sys, const control_store_actor& cs, bool with_processes,
              std::string& failure) {
  cluster_status st;
  failure = query_cluster(sys, cs, st, with_processes);
  json doc;
  auto& nodes = doc["nodes"] = json::array();
  for (auto& n : st.nodes)
    nodes.push_back(node_json(n, true));
  doc["actors"] = st.control.actors;
  doc["jobs"] = st.control.jobs;
  doc["submissions"] = submissions(sys, cs);
  doc["placement_groups"] = st.cluster.placement_groups;
  auto& tasks = doc["tasks"] = json::array();
  for (auto& p : st.processes)
    for (auto& t : p.tasks) {
      json row = t;
      row["owner_pid"] = p.pid;
      row["owner_role"] = p.role;
      tasks.push_back(std::move(row));
    }
  auto& errors = doc["errors"] = json::array();
  for (auto& n : st.control.nodes)
    if (!n.alive)
      errors.push_back({{"what", "node"}, {"id", std::to_string(n.id)},
                        {"message", "node " + std::to_string(n.id) + " at " + n.address
                                      + " is dead"}});
  for (auto& a : st.control.actors)
    if (!a.death.empty())
      errors.push_back({{"what", "actor"}, {"id", a.name.empty() ? a.id : a.name},
                        {"message", a.death}});
  for (auto& t : tasks)
    if (!t["last_failure"].get<std::string>().empty())
      errors.push_back({{"what", "task"}, {"id", t["name"]}, {"message", t["last_failure"]}});
  for (auto& j : doc["submissions"])
    if (j["state"] == "FAILED")
      errors.push_back({{"what", "job"}, {"id", std::to_string(j["id"].get<std::uint64_t>())},
                        {"message", j["message"]}});
  for (auto& why : st.cluster.infeasible)
    errors.push_back({{"what", "demand"}, {"id", ""}, {"message", why}});
  return doc;
}

void reply_json(httplib::Response& res, const json& doc) {
  res.set_content(doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

/// Node `id`'s control store, or an invalid handle.
control_store_actor node_control(caf::actor_system& sys, const control_store_actor& cs,
                                 const std::string& id) {
  auto nodes = detail::try_ask<node_list>(sys, cs, std::chrono::seconds(5), nodes_atom::value);
  if (nodes)
    for (auto& n : nodes->nodes)
      if (std::to_string(n.node_id) == id && n.alive)
        return n.control;
  return {};
}

void log_routes(httplib::Server& s, caf::actor_system& sys, const control_store_actor& cs) {
  s.Get("/api/logs", [&sys, cs](const httplib::Request& req, httplib::Response& res) {
    auto node = node_control(sys, cs, req.get_param_value("node"));
    auto r = detail::try_ask<std::string>(sys, node, std::chrono::seconds(5), log_atom::value);
    if (!node || !r) {
      res.status = 404;
      reply_json(res, {{"error", "no living node '" + req.get_param_value("node") + "'"}});
      return;
    }
    res.set_content(*r, "application/json");
  });
  s.Get("/api/log", [&sys, cs](const httplib::Request& req, httplib::Response& res) {
    auto node = node_control(sys, cs, req.get_param_value("node"));
    auto file = req.get_param_value("file");
    std::uint64_t tail = 64 * 1024;
    if (req.has_param("tail"))
      tail = std::min<std::uint64_t>(max_log_read, std::stoull("0" + req.get_param_value("tail")));
    auto list = detail::try_ask<std::string>(sys, node, std::chrono::seconds(5), log_atom::value);
    std::uint64_t size = 0, id = 0;
    if (list)
      for (auto& f : log_files_from_json(*list, id))
        if (f.name == file)
          size = f.size;
    auto r = detail::try_ask<std::string>(sys, node, std::chrono::seconds(5), log_atom::value,
                                          file, size > tail ? size - tail : 0, tail);
    if (!node || !r) {
      res.status = 404;
      res.set_content("no log file '" + file + "' on node '" + req.get_param_value("node")
                        + "'\n",
                      "text/plain");
      return;
    }
    res.set_content(*r, "text/plain; charset=utf-8");
  });
}

} // namespace

bool same_token(const std::string& given, const std::string& token) {
  unsigned char diff = given.size() == token.size() ? 0 : 1;
  for (std::size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned char>(token[i] ^ (i < given.size() ? given[i] : 0));
  return diff == 0;
}

void dashboard_routes(httplib::Server& s, caf::actor_system& sys, const control_store_actor& cs,
                      const std::string& token) {
  s.set_pre_routing_handler([token](const httplib::Request& req, httplib::Response& res) {
    if (token.empty() || req.path == "/healthz")
      return httplib::Server::HandlerResponse::Unhandled;
    auto given = token_of(req);
    if (same_token(given, token)) {
      if (req.has_param("token"))
        res.set_header("Set-Cookie",
                       "troupe_token=" + token + "; HttpOnly; SameSite=Strict; Path=/");
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.status = 401;
    res.set_content(given.empty() ? "this cluster needs its token: open /?token=TOKEN (as "
                                    "`troupe start --head` printed it)\n"
                                  : "that is not this cluster's token\n",
                    "text/plain");
    return httplib::Server::HandlerResponse::Handled;
  });
  for (auto& f : dashboard_files())
    s.Get(f.path, [&f](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string{f.content}, f.type);
    });
  s.Get("/api/cluster", [&sys, cs](const httplib::Request&, httplib::Response& res) {
    std::string failure;
    auto doc = snapshot(sys, cs, true, failure);
    if (!failure.empty())
      doc["failure"] = failure;
    reply_json(res, doc);
  });
  for (const char* part : {"nodes", "actors", "tasks", "placement_groups", "jobs", "submissions",
                           "errors"})
    s.Get(std::string{"/api/"} + part,
          [&sys, cs, part](const httplib::Request&, httplib::Response& res) {
            std::string failure;
            std::string_view name{part};
            auto doc = snapshot(sys, cs, name == "tasks" || name == "errors", failure);
            if (!failure.empty()) {
              res.status = 503;
              reply_json(res, {{"error", failure}});
              return;
            }
            reply_json(res, doc[part]);
          });
  log_routes(s, sys, cs);
}

} // namespace troupe
