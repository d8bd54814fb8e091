// The head's persistence: what changed goes to its records (head_records),
// and a restarted head loads them and takes its cluster back as its nodes,
// drivers and actors are heard of again, giving up what is not within the
// grace period.
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/control_store_roles.hpp"

namespace troupe {

namespace {

/// How soon a change nothing waits for is written.
constexpr auto flush_delay = std::chrono::milliseconds(20);

/// Queues the records of what the directories changed.
void queue_changes(cs_actor_state& s) {
  auto& st = s.st;
  for (auto id : st.nodes.take_changed_nodes())
    if (auto it = st.nodes.all().find(id); it != st.nodes.all().end())
      s.records->node(it->second);
  auto jobs = st.nodes.take_changed_jobs();
  for (auto id : jobs)
    if (auto it = st.nodes.jobs().find(id); it != st.nodes.jobs().end())
      s.records->job(it->second);
  if (!jobs.empty())
    s.records->counters(st.nodes.next_job());
  for (auto& id : st.actors.take_changed())
    if (auto it = st.actors.all().find(id); it != st.actors.all().end())
      s.records->actor(it->second);
}

/// The grace period is over: what did not come back is gone.
void give_up(cs_ptr self) {
  auto& s = self->state;
  for (auto id : std::exchange(s.unconfirmed_nodes, {}))
    head_node_gone(self, id, "it did not reconnect after the head restarted");
  for (auto id : std::exchange(s.unconfirmed_jobs, {}))
    s.st.nodes.end_job(id);
  auto lost = std::exchange(s.unconfirmed, {});
  s.orphans.clear();
  for (auto& id : lost)
    head_actor_died(self, id, "it was not heard of again after the head restarted", true);
  save(self);
}

} // namespace

void restore_head(cs_ptr self) {
  auto& s = self->state;
  if (!s.records)
    return;
  auto& st = s.st;
  st.nodes.track_changes(true);
  st.actors.track_changes(true);
  auto snap = s.records->load();
  if (snap.nodes.empty()) {
    spdlog::info("head state in {}: none yet", s.records->describe());
    return;
  }
  std::vector<node_info> nodes;
  for (auto& n : snap.nodes) {
    nodes.push_back(n);
    if (n.alive && n.node_id != st.node.node_id)
      s.unconfirmed_nodes.insert(n.node_id);
  }
  st.nodes.restore(nodes, snap.jobs, snap.next_job);
  for (auto& j : snap.jobs)
    if (j.alive)
      s.unconfirmed_jobs.insert(j.id);
  for (auto& e : snap.actors) {
    auto id = e.rec.id;
    bool living = e.phase != actor_phase::dead;
    // A worker of the old head's node died with it: a new one, with
    // perhaps the same id, must not be taken for it.
    bool orphan = living && e.worker_id != 0 && node_of_worker(e.worker_id) == st.node.node_id;
    if (orphan)
      e.worker_id = 0;
    st.actors.restore(std::move(e));
    if (living)
      s.unconfirmed.insert(id);
    if (orphan)
      s.orphans.insert(id);
  }
  s.restored_until = std::chrono::steady_clock::now() + s.grace;
  self->delayed_send(self, s.grace, tick_atom::value);
  spdlog::warn("head restarted from {}: {} nodes, {} jobs and {} living actors to hear of "
               "again within {} s",
               s.records->describe(), s.unconfirmed_nodes.size(), s.unconfirmed_jobs.size(),
               s.unconfirmed.size(), s.grace.count());
}

bool save(cs_ptr self, bool now) {
  auto& s = self->state;
  if (!s.records)
    return true;
  queue_changes(s);
  if (!s.records->pending())
    return true;
  if (!now) {
    if (!s.flush_due) {
      s.flush_due = true;
      self->delayed_send(self, flush_delay, tick_atom::value);
    }
    return true;
  }
  try {
    s.records->flush();
    return true;
  } catch (const std::exception& e) {
    spdlog::error("the head cannot write its state: {}", e.what());
    if (!s.flush_due) { // try again soon
      s.flush_due = true;
      self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
    }
    return false;
  }
}

void head_tick(cs_ptr self) {
  auto& s = self->state;
  s.flush_due = false;
  if (s.restored_until != std::chrono::steady_clock::time_point{}
      && std::chrono::steady_clock::now() >= s.restored_until) {
    s.restored_until = {};
    give_up(self);
  }
  save(self, true);
}

void owner_back(cs_ptr self, std::uint64_t owner_id) {
  auto& s = self->state;
  std::vector<object_id> rebuild;
  for (auto& id : s.orphans)
    if (id.owner == owner_id)
      rebuild.push_back(id);
  for (auto& id : rebuild) {
    s.orphans.erase(id);
    s.unconfirmed.erase(id);
    head_actor_died(self, id, "its worker died with the head node", true);
  }
}

void node_resumed(cs_ptr self, std::uint64_t node_id) {
  auto& s = self->state;
  std::vector<object_id> lost;
  for (auto& id : s.unconfirmed) {
    auto* e = s.st.actors.find(id);
    if (e && e->worker_id != 0 && node_of_worker(e->worker_id) == node_id)
      lost.push_back(id);
  }
  for (auto& id : lost) {
    s.unconfirmed.erase(id);
    head_actor_died(self, id, "its instance was gone when its node reconnected", true);
  }
  save(self);
}

} // namespace troupe
