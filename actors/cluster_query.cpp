#include "actors/cluster_query.hpp"

#include <chrono>
#include <type_traits>

#include <caf/all.hpp>

#include "lib/common/ask.hpp"

namespace troupe {

std::string query_cluster(caf::actor_system& sys, const control_store_actor& control,
                          cluster_status& out, bool with_processes) {
  using namespace std::chrono_literals;
  auto cs = &control;
  std::string failure;
  auto fail = [&](std::string why) {
    if (failure.empty())
      failure = std::move(why);
  };
  // Returns the reply's value, or an empty one when `who` did not answer
  // (a failure only if `who` is given).
  auto value_of = [&](auto reply, const char* who) {
    using value = typename decltype(reply)::value_type;
    if (reply)
      return value{std::move(*reply)};
    if (who)
      fail(std::string{who} + " did not answer: " + sys.render(reply.error()));
    return value{};
  };
  // Parses a status reply into `doc`; returns whether a reply came.
  auto read_into = [&](auto& doc, caf::expected<std::string> reply, const char* who) {
    if (!reply) {
      value_of(std::move(reply), who);
      return false;
    }
    try {
      doc = from_json_text<std::remove_reference_t<decltype(doc)>>(*reply);
    } catch (const std::exception& e) {
      fail(std::string{"a status reply is not valid: "} + e.what());
    }
    return true;
  };
  auto ask_text = [&](const auto& who, auto atom) {
    return detail::try_ask<std::string>(sys, who, 5s, atom);
  };
  auto info = value_of(detail::try_ask<node_info>(sys, *cs, 5s, node_atom::value),
                       "the control store");
  auto list = value_of(detail::try_ask<node_list>(sys, *cs, 5s, nodes_atom::value),
                       "the control store");
  read_into(out.control, ask_text(*cs, status_atom::value), "the control store");
  if (!failure.empty())
    return failure;
  read_into(out.cluster, ask_text(info.cluster, status_atom::value), "the cluster scheduler");
  for (auto& n : list.nodes) {
    if (n.node_id == 1 && n.alive)
      if (auto endpoints = ask_text(n.control, metrics_atom::value)) {
        auto doc = nlohmann::json::parse(*endpoints, nullptr, false);
        if (doc.is_object())
          out.dashboard = doc.value("dashboard", std::string{});
      }
    node_status ns;
    ns.info = n;
    // A node that does not answer is reported as such, not as a failure.
    if (n.alive) {
      local_scheduler_status sched;
      store_status store;
      if (read_into(sched, ask_text(n.scheduler, status_atom::value), nullptr))
        ns.scheduler = sched;
      if (read_into(store, ask_text(n.store_manager, stats_atom::value), nullptr))
        ns.store = store;
    }
    out.nodes.push_back(std::move(ns));
  }
  if (with_processes) {
    auto owners = value_of(detail::try_ask<owner_list>(sys, *cs, 5s, owner_atom::value),
                           "the control store");
    // Processes that ended meanwhile do not answer: they have nothing to list.
    for (auto& core : owners.cores) {
      process_status proc;
      if (read_into(proc, detail::try_ask<std::string>(sys, core, 2s, status_atom::value),
                    nullptr))
        out.processes.push_back(proc);
    }
  }
  return failure;
}

nlohmann::ordered_json node_json(const node_status& n, bool with_store) {
  nlohmann::ordered_json out = {
      {"id", n.info.node_id},
      {"address", n.info.host + ":" + std::to_string(n.info.port)},
      {"alive", n.info.alive},
      {"scheduler", n.scheduler ? nlohmann::ordered_json(*n.scheduler) : nullptr}};
  if (with_store)
    out["store"] = n.store ? nlohmann::ordered_json(*n.store) : nullptr;
  return out;
}

} // namespace troupe
