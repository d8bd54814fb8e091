#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/protocol/messages.hpp"

namespace troupe::sched {

/// The cluster scheduler's picture of every node, and its placement logic.
/// Local schedulers run what fits on their node; what does not, and every
/// request with a strategy, comes here to be placed.
///
/// Placement, in order:
/// 1. Feasibility: only alive nodes whose *total* resources cover the
///    request; none gives an error naming the request and the nodes.
/// 2. Strategy:
///    - node affinity: the named node (hard), or preferred (soft);
///    - placement group: the node of the bundle (or of any bundle with room);
///    - SPREAD: round robin over the feasible nodes, those with room first;
///    - default: the node with the largest arguments if it has room, else
///      the asking node if it has room, else pack (the first node by id
///      under half-used), else the least used node with room, else the
///      feasible node with the shortest queue.
/// 3. The chosen node's available resources are reduced at once, until its
///    next report, so a burst does not go to one node.
///
/// Placement group states:
///
///     pending --(1) its bundles fit the nodes' available resources--> placed
///     pending --(2) they can never fit (totals, strictness)----------> infeasible
///     placed ---(3) removed------------------------------------------> removed
///
/// A bundle whose node dies is lost with it: requests into it are refused
/// naming it, the group's other bundles serve on (moving bundles to other
/// nodes comes with recovery).
class cluster_state {
public:
  struct node_view {
    std::uint64_t id = 0;
    resource_map total;
    resource_map available;
    std::uint32_t queued = 0;
    bool alive = true;
    /// When its last report came (its heartbeat: every 250 ms).
    std::chrono::steady_clock::time_point reported{};
  };

  struct group {
    group_spec spec;
    group_state state;
    bool checked = false; ///< its feasibility was judged
  };

  void add_node(std::uint64_t id, const resource_map& total);
  void remove_node(std::uint64_t id);
  void update(const resource_report& report);

  /// Picks a node for `req`, submitted on node `origin`; returns 0 and
  /// sets `why` when no node can ever serve it.
  std::uint64_t place(const lease_request& req, std::uint64_t origin, std::string& why);

  /// Adds a placement group and tries to place it; with `place_now` false
  /// (a restarted head whose nodes are not all back: their resources are
  /// not known yet) it stays pending, not judged, until place_pending_groups.
  const group_state& add_group(const group_spec& spec, bool place_now = true);
  /// Puts back a group a previous head kept, as it was.
  void restore_group(const group_spec& spec, const group_state& state);
  /// Places the pending groups that fit now (and judges those not judged
  /// yet); returns the ids of those no longer pending (placed, infeasible).
  std::vector<std::uint64_t> place_pending_groups();
  /// Forgets the group; returns its state before (for the reservations).
  group_state remove_group(std::uint64_t id);
  const group* find_group(std::uint64_t id) const;

  const std::map<std::uint64_t, node_view>& nodes() const noexcept { return nodes_; }
  const std::map<std::uint64_t, group>& groups() const noexcept { return groups_; }

  /// Returns the nodes' utilisation: the largest used share of any resource.
  static double utilization(const node_view& n);

private:
  // The steps of place().
  const node_view* alive_node(std::uint64_t id) const;
  /// Returns the node of a bundle of the request's group; 0 with an empty
  /// `why` while the group waits to be placed.
  std::uint64_t place_in_group(const lease_request& req, const std::string& label,
                               std::string& why) const;
  /// Returns the alive nodes whose total resources cover `r`, by id.
  std::vector<node_view*> feasible_nodes(const resource_map& r);
  std::string no_feasible_node(const std::string& label) const;
  std::string affinity_refusal(const lease_request& req, const std::string& label) const;
  node_view* pick_spread(const lease_request& req,
                         const std::vector<node_view*>& feasible);
  /// Returns a node of `feasible` (not empty) by the default strategy.
  node_view* pick_default(const lease_request& req, std::uint64_t origin,
                          const std::vector<node_view*>& feasible);

  bool try_place(group& g);
  /// Judges a new group's feasibility, and places it if it can be.
  void settle(group& g);
  /// Picks a node for each bundle from `room` by the group's strategy.
  static bool assign(const group_spec& spec, std::map<std::uint64_t, resource_map> room,
                     std::vector<std::uint64_t>& chosen);
  /// Returns why the group can never be placed, or "".
  std::string infeasible_group(const group_spec& spec) const;

  std::map<std::uint64_t, node_view> nodes_;
  std::map<std::uint64_t, group> groups_;
  std::uint64_t spread_next_ = 0; ///< round-robin position of SPREAD
};

} // namespace troupe::sched
