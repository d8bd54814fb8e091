#include "scheduler/cluster_scheduler.hpp"
#include "lib/protocol/messages.hpp"
#include "lib/protocol/status.hpp"

#include <deque>

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
  /// Placed groups whose reservations some node has not confirmed yet: they
  /// count as pending, so that no lease reaches a node before its bundle.
  std::map<std::uint64_t, std::size_t> unconfirmed;
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

/// Sends the reservations of newly placed groups to their nodes.
void reserve(self_ptr self, std::uint64_t group_id) {
  auto* g = self->state.st.find_group(group_id);
  if (!g || g->state.state != group_state::placed)
    return;
  self->state.unconfirmed[group_id] = g->state.nodes.size();
  for (std::size_t i = 0; i < g->state.nodes.size(); ++i)
    if (auto s = sched_of(self, g->state.nodes[i]))
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

void place_pending(self_ptr self) {
  for (auto id : self->state.st.place_pending_groups())
    reserve(self, id);
}

std::string describe(const cluster_actor_state& s) {
  static const char* states[] = {"pending", "placed", "infeasible", "removed"};
  cluster_scheduler_status doc;
  for (auto& [id, n] : s.st.nodes())
    doc.nodes.push_back({id, n.alive, n.total, n.available, n.queued});
  for (auto& [id, g] : s.st.groups())
    doc.placement_groups.push_back(
        {id, states[g.state.state & 3], g.spec.bundles, g.state.nodes, g.state.why});
  doc.infeasible.assign(s.infeasible.begin(), s.infeasible.end());
  return to_json_text(doc);
}

cluster_scheduler_actor::behavior_type cluster_fn(self_ptr self,
                                                  std::size_t infeasible_kept) {
  self->state.infeasible_kept = infeasible_kept;
  return {
    [self](join_atom, std::uint64_t node, const resource_map& total,
           const local_scheduler_actor& scheduler) {
      self->state.st.add_node(node, total);
      self->state.schedulers[node] = scheduler;
      tell_cluster_size(self);
      place_pending(self);
    },
    [self](node_down_atom, std::uint64_t node) {
      self->state.st.remove_node(node);
      self->state.schedulers.erase(node);
      tell_cluster_size(self);
    },
    [self](report_atom, const resource_report& r) {
      self->state.st.update(r);
      place_pending(self);
    },
    [self](place_atom, const lease_request& req, std::uint64_t origin) -> placement {
      auto& s = self->state;
      placement p;
      if (req.strategy.type == scheduling_strategy::kind::placement_group
          && s.unconfirmed.count(req.strategy.group))
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
    },
    [self](group_atom, group_spec spec) -> group_state {
      auto& s = self->state;
      spec.id = s.next_group++;
      auto st = s.st.add_group(spec);
      if (st.state == group_state::placed) {
        reserve(self, spec.id);
        st.state = group_state::pending; // until the nodes confirm
      }
      return st;
    },
    [self](group_atom, std::uint64_t id) -> group_state {
      auto* g = self->state.st.find_group(id);
      if (!g) {
        group_state st;
        st.id = id;
        st.state = group_state::removed;
        st.why = "placement group " + std::to_string(id) + " does not exist";
        return st;
      }
      auto st = g->state;
      if (self->state.unconfirmed.count(id))
        st.state = group_state::pending;
      return st;
    },
    [self](release_atom, std::uint64_t id) -> bool {
      auto* g = self->state.st.find_group(id);
      bool known = g && g->state.state != group_state::removed;
      self->state.unconfirmed.erase(id);
      auto before = self->state.st.remove_group(id);
      for (auto node : before.nodes)
        if (auto s = sched_of(self, node))
          self->send(s, release_atom::value, id);
      place_pending(self);
      return known;
    },
    [self](status_atom) -> std::string { return describe(self->state); },
  };
}

} // namespace

cluster_scheduler_actor spawn_cluster_scheduler(caf::actor_system& sys) {
  // Function actors take an argument: CAF 0.17 binds a reference to a null
  // tuple for one spawned without any (UBSan reports it).
  return sys.spawn(cluster_fn, std::size_t{20});
}

} // namespace troupe::sched
