// Placement groups and the cluster's nodes, for drivers and tasks.
#include <chrono>
#include <thread>

#include <caf/all.hpp>

#include "lib/common/ask.hpp"
#include "lib/core/client.hpp"
#include "scheduler/resources.hpp"
#include "troupe/errors.hpp"
#include "troupe/scheduling.hpp"

namespace troupe {

namespace {

using namespace std::chrono_literals;

/// The cluster scheduler as this node knows it now: asked each time, since
/// a head restarted after init() has a new one (group calls are rare).
cluster_scheduler_actor cluster(detail::client& c) {
  auto info = detail::ask<node_info>(c.system(), c.control_store(), 10s,
                                     "this node's control store did not answer",
                                     node_atom::value);
  if (!info.cluster)
    throw error(error_kind::runtime, "this node knows no cluster scheduler");
  return info.cluster;
}

/// Asks the cluster scheduler; returns the group's state or throws.
template <class... Ts>
group_state ask_group(detail::client& c, const Ts&... xs) {
  return detail::ask<group_state>(c.system(), cluster(c), 10s,
                                  "the cluster scheduler did not answer", xs...);
}

} // namespace

placement_group create_placement_group(
  const std::vector<std::map<std::string, double>>& bundles, placement_strategy strategy) {
  for (std::size_t i = 0; i < bundles.size(); ++i)
    sched::check_amounts(bundles[i], "troupe: bad placement group bundle "
                                       + std::to_string(i));
  auto& c = detail::client::get();
  group_spec spec;
  spec.bundles.assign(bundles.begin(), bundles.end());
  spec.strategy = strategy;
  auto st = ask_group(c, group_atom::value, spec);
  return placement_group{st.id};
}

void remove_placement_group(const placement_group& pg) {
  auto& c = detail::client::get();
  // Acknowledged, as Ray's removal is: once this returns, the cluster
  // scheduler counts the group's resources as free and places other work
  // there (the nodes drop the reservations right after).
  (void)detail::ask<bool>(c.system(), cluster(c), 10s,
                          "the cluster scheduler did not remove the placement group",
                          release_atom::value, pg.id());
}

bool placement_group::wait(std::chrono::milliseconds timeout) const {
  auto& c = detail::client::get();
  auto until = std::chrono::steady_clock::now() + timeout;
  for (auto pause = 2ms;; pause = std::min(pause * 2, 100ms)) {
    auto st = ask_group(c, group_atom::value, id_);
    switch (st.state) {
      case group_state::placed:
        return true;
      case group_state::infeasible:
        throw unschedulable_error("placement group " + std::to_string(id_)
                                  + " can never be placed: " + st.why);
      case group_state::removed:
        throw error(error_kind::unschedulable,
                    "placement group " + std::to_string(id_) + " was removed");
      default:
        break;
    }
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(pause);
  }
}

std::vector<node_id> placement_group::bundle_nodes() const {
  auto& c = detail::client::get();
  auto st = ask_group(c, group_atom::value, id_);
  return st.state == group_state::placed ? st.nodes : std::vector<node_id>{};
}

std::vector<node_description> nodes() {
  auto& c = detail::client::get();
  auto list = c.list_nodes();
  std::vector<node_description> out;
  for (auto& n : list.nodes) {
    node_description d;
    d.id = n.node_id;
    d.address = n.host + ":" + std::to_string(n.port);
    d.alive = n.alive;
    d.total = n.total;
    out.push_back(std::move(d));
  }
  return out;
}

std::map<std::string, double> cluster_resources() {
  std::map<std::string, double> out;
  for (auto& n : nodes())
    if (n.alive)
      for (auto& [name, amount] : n.total)
        out[name] += amount;
  return out;
}

node_id current_node_id() {
  return detail::client::get().node().node_id;
}

} // namespace troupe
