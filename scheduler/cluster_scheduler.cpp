#include "scheduler/cluster_scheduler.hpp"
#include "lib/protocol/messages.hpp"
#include "lib/protocol/status.hpp"

#include <algorithm>
#include <deque>
#include <memory>
#include <set>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "scheduler/cluster_state.hpp"
#include "scheduler/resources.hpp"

namespace troupe::sched {

namespace {

struct cluster_actor_state {
  cluster_state st;
  std::map<std::uint64_t, local_scheduler_actor> schedulers; ///< alive nodes' schedulers
  std::uint64_t next_group = 1;
  /// The latest requests no node can ever serve, for `troupe status`.
  std::deque<std::string> infeasible;
  std::size_t infeasible_kept = 20; ///< the most recent ones, for status
  /// Placed groups whose reservations some node has not confirmed yet (how
  /// many confirmations are outstanding): they count as pending, so that no
  /// lease reaches a node before its bundle.
  std::map<std::uint64_t, std::size_t> unconfirmed;
  /// Where groups are kept across head restarts; null when nowhere.
  std::shared_ptr<group_keeper> keeper;
  /// After a restart, the nodes that were alive and have not joined again
  /// (nor been given up): groups with a bundle there wait for them, and no
  /// group is placed until all are back, their resources unknown till then.
  std::set<std::uint64_t> awaited;
  static inline const char* name = "troupe.cluster_scheduler";
};

using self_ptr = cluster_scheduler_actor::stateful_pointer<cluster_actor_state>;

local_scheduler_actor sched_of(self_ptr self, std::uint64_t node) {
  auto it = self->state.schedulers.find(node);
  return it != self->state.schedulers.end() ? it->second : local_scheduler_actor{};
}

void tell_cluster_size(self_ptr self) {
  auto n = static_cast<std::uint32_t>(self->state.schedulers.size());
  for (auto& [id, s] : self->state.schedulers)
    self->send(s, nodes_atom::value, n);
}

/// Writes group `id` as it is now to the keeper; returns false (logged) if
/// it could not.
bool keep(self_ptr self, std::uint64_t id) {
  auto& s = self->state;
  auto* g = s.st.find_group(id);
  if (!s.keeper || !g)
    return true;
  try {
    if (g->state.state == group_state::removed)
      s.keeper->erase(id);
    else
      s.keeper->save(g->spec, g->state, s.next_group);
    return true;
  } catch (const std::exception& e) {
    spdlog::error("the head cannot write placement group {}: {}", id, e.what());
    return false;
  }
}

/// Sends the reservations of placed group `group_id` to their nodes (only
/// to `node` when it is not 0: a node that joined the restarted head again;
/// a node keeps a bundle it has once).
void reserve(self_ptr self, std::uint64_t group_id, std::uint64_t node = 0) {
  auto* g = self->state.st.find_group(group_id);
  if (!g || g->state.state != group_state::placed)
    return;
  for (std::size_t i = 0; i < g->state.nodes.size(); ++i) {
    if (node != 0 && g->state.nodes[i] != node)
      continue;
    auto s = sched_of(self, g->state.nodes[i]);
    if (!s)
      continue;
    ++self->state.unconfirmed[group_id];
    self->request(s, std::chrono::seconds(10), reserve_atom::value,
                  bundle_reservation{group_id, static_cast<std::int32_t>(i),
                                     g->spec.bundles[i]})
      .then(
        [self, group_id](bool) {
          auto it = self->state.unconfirmed.find(group_id);
          if (it != self->state.unconfirmed.end() && --it->second == 0)
            self->state.unconfirmed.erase(it);
        },
        [group_id](caf::error&) {
          spdlog::warn("a node did not confirm a bundle of placement group {}", group_id);
        });
  }
}

void place_pending(self_ptr self) {
  if (!self->state.awaited.empty())
    return;
  for (auto id : self->state.st.place_pending_groups()) {
    keep(self, id);
    reserve(self, id);
  }
}

/// Whether a placed group must still wait: reservations not confirmed, or
/// a bundle on a node the restarted head waits for.
bool group_waits(const cluster_actor_state& s, std::uint64_t id) {
  if (s.unconfirmed.count(id))
    return true;
  auto* g = s.st.find_group(id);
  if (!g || s.awaited.empty())
    return false;
  return std::any_of(g->state.nodes.begin(), g->state.nodes.end(),
                     [&](auto n) { return s.awaited.count(n) > 0; });
}

std::string describe(const cluster_actor_state& s) {
  static const char* states[] = {"pending", "placed", "infeasible", "removed"};
  cluster_scheduler_status doc;
  auto now = std::chrono::steady_clock::now();
  for (auto& [id, n] : s.st.nodes())
    doc.nodes.push_back({id, n.alive, n.total, n.available, n.queued,
                         n.reported == std::chrono::steady_clock::time_point{}
                           ? -1.0
                           : std::chrono::duration<double>(now - n.reported).count()});
  for (auto& [id, g] : s.st.groups())
    doc.placement_groups.push_back(
        {id, states[g.state.state & 3], g.spec.bundles, g.state.nodes, g.state.why});
  doc.infeasible.assign(s.infeasible.begin(), s.infeasible.end());
  return to_json_text(doc);
}

void node_joined(self_ptr self, std::uint64_t node, const resource_map& total,
                 const local_scheduler_actor& scheduler) {
  auto& s = self->state;
  s.st.add_node(node, total);
  s.schedulers[node] = scheduler;
  s.awaited.erase(node);
  // Bundles a previous head placed there (a member node kept them; the
  // head's own node lost them with its old process).
  for (auto& [id, g] : s.st.groups())
    if (g.state.state == group_state::placed)
      reserve(self, id, node);
  tell_cluster_size(self);
  place_pending(self);
}

placement place(self_ptr self, const lease_request& req, std::uint64_t origin) {
  auto& s = self->state;
  placement p;
  if (req.strategy.type == scheduling_strategy::kind::placement_group
      && group_waits(s, req.strategy.group))
    return p; // not placed yet: ask again
  p.node_id = s.st.place(req, origin, p.why);
  if (p.node_id != 0) {
    p.scheduler = s.schedulers[p.node_id];
  } else if (!p.why.empty()) {
    spdlog::warn("{}", p.why);
    s.infeasible.push_back(p.why);
    if (s.infeasible.size() > s.infeasible_kept)
      s.infeasible.pop_front();
  }
  return p;
}

caf::result<group_state> create_group(self_ptr self, group_spec spec) {
  auto& s = self->state;
  spec.id = s.next_group++;
  auto st = s.st.add_group(spec, s.awaited.empty());
  if (!keep(self, spec.id)) {
    s.st.remove_group(spec.id);
    return caf::make_error(caf::sec::runtime_error,
                           "head_unavailable: the head cannot write the placement group "
                           "to its state store");
  }
  if (st.state == group_state::placed) {
    reserve(self, spec.id);
    st.state = group_state::pending; // until the nodes confirm
  }
  return st;
}

group_state group_now(self_ptr self, std::uint64_t id) {
  auto* g = self->state.st.find_group(id);
  if (!g) {
    group_state st;
    st.id = id;
    st.state = group_state::removed;
    st.why = "placement group " + std::to_string(id) + " does not exist";
    return st;
  }
  auto st = g->state;
  if (st.state == group_state::placed && group_waits(self->state, id))
    st.state = group_state::pending;
  return st;
}

caf::result<bool> remove_group(self_ptr self, std::uint64_t id) {
  auto* g = self->state.st.find_group(id);
  bool known = g && g->state.state != group_state::removed;
  self->state.unconfirmed.erase(id);
  auto before = self->state.st.remove_group(id);
  if (known && !keep(self, id))
    return caf::make_error(caf::sec::runtime_error,
                           "head_unavailable: the head cannot write the placement group's "
                           "removal to its state store");
  for (auto node : before.nodes)
    if (auto s = sched_of(self, node))
      self->send(s, release_atom::value, id);
  place_pending(self);
  return known;
}

cluster_scheduler_actor::behavior_type cluster_fn(self_ptr self,
                                                  std::shared_ptr<group_keeper> keeper,
                                                  group_keeper::restored restored) {
  auto& s = self->state;
  s.keeper = std::move(keeper);
  s.next_group = std::max<std::uint64_t>(restored.next_group, 1);
  s.awaited.insert(restored.nodes.begin(), restored.nodes.end());
  for (auto& [spec, state] : restored.groups)
    s.st.restore_group(spec, state);
  return {
    [self](join_atom, std::uint64_t node, const resource_map& total,
           const local_scheduler_actor& scheduler) {
      node_joined(self, node, total, scheduler);
    },
    [self](node_down_atom, std::uint64_t node) {
      self->state.st.remove_node(node);
      self->state.schedulers.erase(node);
      self->state.awaited.erase(node);
      tell_cluster_size(self);
      place_pending(self);
    },
    [self](report_atom, const resource_report& r) {
      self->state.st.update(r);
      place_pending(self);
    },
    [self](place_atom, const lease_request& req, std::uint64_t origin) -> placement {
      return place(self, req, origin);
    },
    [self](group_atom, group_spec spec) -> caf::result<group_state> {
      return create_group(self, std::move(spec));
    },
    [self](group_atom, std::uint64_t id) -> group_state { return group_now(self, id); },
    [self](release_atom, std::uint64_t id) -> caf::result<bool> {
      return remove_group(self, id);
    },
    [self](status_atom) -> std::string { return describe(self->state); },
  };
}

} // namespace

cluster_scheduler_actor spawn_cluster_scheduler(caf::actor_system& sys,
                                                std::shared_ptr<group_keeper> keeper) {
  group_keeper::restored restored;
  if (keeper) {
    restored = keeper->load();
    if (!restored.groups.empty())
      spdlog::warn("head restarted with {} placement groups; groups with bundles on the {} "
                   "nodes not back yet wait for them",
                   restored.groups.size(), restored.nodes.size());
  }
  return sys.spawn(cluster_fn, std::move(keeper), std::move(restored));
}

} // namespace troupe::sched
