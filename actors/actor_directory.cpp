#include "actors/actor_directory.hpp"

#include <algorithm>

namespace troupe {

const char* to_string(actor_phase p) noexcept {
  switch (p) {
  case actor_phase::pending:
    return "pending";
  case actor_phase::alive:
    return "alive";
  case actor_phase::dying:
    return "dying";
  case actor_phase::restarting:
    return "restarting";
  case actor_phase::dead:
    return "dead";
  }
  return "?";
}

registration actor_directory::add(const actor_record& rec) {
  // The same registration again (its creator's node asked a head that died
  // before answering, and asks the restarted one): it stands.
  if (auto* known = entry(rec.id); known && known->phase != actor_phase::dead)
    return {};
  if (!rec.name.empty()) {
    if (auto* other = find_by_name(rec.name, rec.name_space))
      return {false,
              {error_kind::name_taken, rec.name, "",
               "an actor named '" + rec.name + "' already exists in namespace '" +
                   rec.name_space + "' (" + other->rec.class_name + ")"}};
    names_[{rec.name_space, rec.name}] = rec.id;
  }
  actors_[rec.id].rec = rec;
  changed(rec.id);
  return {};
}

actor_entry* actor_directory::entry(const object_id& id) {
  auto it = actors_.find(id);
  return it == actors_.end() ? nullptr : &it->second;
}

actor_entry* actor_directory::find(const object_id& id) {
  auto* e = entry(id);
  if (e)
    changed(id);
  return e;
}

std::vector<object_id> actor_directory::take_changed() {
  std::vector<object_id> out{changed_.begin(), changed_.end()};
  changed_.clear();
  return out;
}

void actor_directory::restore(actor_entry e) {
  auto id = e.rec.id;
  if (e.phase != actor_phase::dead) {
    e.phase = actor_phase::pending; // until its instance is announced again
    if (!e.rec.name.empty())
      names_[{e.rec.name_space, e.rec.name}] = id;
  }
  actors_[id] = std::move(e);
}

const actor_entry* actor_directory::find_by_name(const std::string& name,
                                                 const std::string& ns) const {
  auto it = names_.find({ns, name});
  if (it == names_.end())
    return nullptr;
  auto a = actors_.find(it->second);
  return a == actors_.end() || a->second.phase == actor_phase::dead ? nullptr
                                                                    : &a->second;
}

std::optional<actor_notice> actor_directory::up(const object_id& id,
                                                const executor_actor& instance,
                                                std::uint64_t worker_id,
                                                const endpoint& address,
                                                const core_actor& core) {
  auto* e = entry(id);
  if (!e || (e->phase != actor_phase::pending && e->phase != actor_phase::restarting))
    return std::nullopt;
  changed(id);
  e->phase = actor_phase::alive;
  e->instance = instance;
  e->address = address;
  e->core = core;
  e->worker_id = worker_id;
  actor_notice n{std::move(e->waiters), status_of(id, e)};
  e->waiters.clear();
  for (auto caller : n.callers)
    e->subscribers.push_back(caller);
  return n;
}

std::optional<actor_notice> actor_directory::resolve(const object_id& id,
                                                     std::uint64_t caller) {
  auto* e = entry(id);
  if (e && (e->phase == actor_phase::pending || e->phase == actor_phase::dying
            || e->phase == actor_phase::restarting)) {
    e->waiters.push_back(caller);
    return std::nullopt;
  }
  if (e && e->phase == actor_phase::alive &&
      std::find(e->subscribers.begin(), e->subscribers.end(), caller) ==
          e->subscribers.end())
    e->subscribers.push_back(caller);
  return actor_notice{{caller}, status_of(id, e)};
}

bool actor_directory::instance_down(const object_id& id) {
  auto* e = entry(id);
  if (!e || e->phase != actor_phase::alive)
    return false;
  changed(id);
  e->phase = actor_phase::dying;
  return true;
}

std::optional<actor_notice> actor_directory::settle(const object_id& id,
                                                    const std::string& why) {
  auto* e = entry(id);
  if (!e || e->phase == actor_phase::dead)
    return std::nullopt;
  changed(id);
  e->phase = actor_phase::dead;
  auto display = e->rec.name.empty() ? e->rec.class_name : e->rec.name;
  e->death = {error_kind::actor_died, display, "", why};
  e->instance = nullptr;
  if (!e->rec.name.empty())
    names_.erase({e->rec.name_space, e->rec.name});
  actor_notice n{std::move(e->waiters), status_of(id, e)};
  for (auto caller : e->subscribers)
    if (std::find(n.callers.begin(), n.callers.end(), caller) == n.callers.end())
      n.callers.push_back(caller);
  // Its creator too, which may keep what it needs to rebuild it.
  if (e->rec.max_restarts != 0
      && std::find(n.callers.begin(), n.callers.end(), id.owner) == n.callers.end())
    n.callers.push_back(id.owner);
  e->waiters.clear();
  e->subscribers.clear();
  return n;
}

bool actor_directory::keep_creation(const actor_creation& c) {
  auto* e = entry(c.id);
  // A non-detached actor shares its creator's fate: never rebuilt without it.
  if (!e || !e->rec.detached)
    return false;
  e->creation = c;
  changed(c.id);
  return true;
}

std::optional<actor_death> actor_directory::died(const object_id& id, const std::string& why,
                                                 bool restartable, bool creator_alive) {
  auto* e = entry(id);
  if (!e || e->phase == actor_phase::dead)
    return std::nullopt;
  auto max = e->rec.max_restarts;
  bool room = max < 0 || e->restarts < static_cast<std::uint32_t>(max);
  bool rebuildable = creator_alive || (e->rec.detached && !e->creation.empty());
  if (!restartable || !room || !rebuildable) {
    auto reason = why;
    if (restartable && max != 0 && !room)
      reason += " (restarted " + std::to_string(e->restarts) + " times: max_restarts used up)";
    else if (restartable && max != 0)
      reason += " (not restarted: its creator is gone, and its creation was not kept: an "
                "argument was a stored object)";
    auto n = settle(id, reason);
    return actor_death{n ? std::move(*n) : actor_notice{}, false, e->restarts};
  }
  changed(id);
  actor_death out;
  out.restarting = true;
  out.restarts = e->restarts++;
  e->phase = actor_phase::restarting;
  e->instance = nullptr;
  e->address = {};
  e->core = nullptr;
  e->worker_id = 0;
  e->kill_requested = false;
  e->kill_restarts = false;
  auto display = e->rec.name.empty() ? e->rec.class_name : e->rec.name;
  e->death = {error_kind::actor_died, display, "",
              why + detail::restarting_marker + std::to_string(e->restarts)
                + (max < 0 ? std::string{}
                           : " of " + std::to_string(max))
                + ")"};
  // Those that knew it alive learn that their calls to it were lost; those
  // waiting for it go on waiting for the new instance.
  out.notice = {std::move(e->subscribers), status_of(id, e)};
  e->subscribers.clear();
  return out;
}

std::vector<actor_exit> actor_directory::worker_exited(std::uint64_t worker_id,
                                                       const process_exit& how) const {
  std::vector<actor_exit> out;
  for (auto& [id, e] : actors_) {
    if (e.worker_id != worker_id || e.phase == actor_phase::dead)
      continue;
    if (e.kill_requested && !e.rec.shared)
      out.push_back({id, e.kill_reason, e.kill_restarts});
    else if (how.clean() && !e.rec.shared)
      out.push_back({id, "it ended itself (troupe::exit_actor)", false});
    else if (how.clean())
      out.push_back({id, "its host process exited", true});
    else
      out.push_back({id, "its worker crashed: " + how.description, true});
    if (!e.rec.shared)
      break; // a process actor's worker holds no other
  }
  return out;
}

bool actor_directory::built(const object_id& id, std::uint64_t worker_id,
                            std::uint32_t restarts) {
  auto* e = entry(id);
  if (!e || e->restarts != restarts
      || (e->phase != actor_phase::pending && e->phase != actor_phase::restarting))
    return false;
  changed(id);
  e->worker_id = worker_id;
  return true;
}

bool actor_directory::building(const object_id& id, std::uint32_t restarts) const {
  auto it = actors_.find(id);
  if (it == actors_.end())
    return false;
  auto& e = it->second;
  return e.restarts == restarts
         && (e.phase == actor_phase::pending || e.phase == actor_phase::restarting);
}

std::uint64_t actor_directory::request_kill(const object_id& id, bool no_restart,
                                           std::string why) {
  auto* e = entry(id);
  if (!e || e->phase == actor_phase::dead)
    return 0;
  changed(id);
  e->kill_requested = true;
  e->kill_restarts = !no_restart;
  e->kill_reason = std::move(why);
  return e->worker_id; // 0 while pending or restarting: killed once it is up
}

std::vector<object_id> actor_directory::on_node(std::uint64_t node) const {
  std::vector<object_id> out;
  for (auto& [id, e] : actors_)
    if (e.phase != actor_phase::dead && e.worker_id != 0 &&
        node_of_worker(e.worker_id) == node)
      out.push_back(id);
  return out;
}

std::vector<object_id> actor_directory::owned_by(std::uint64_t owner_id) const {
  std::vector<object_id> out;
  for (auto& [id, e] : actors_)
    if (!e.rec.detached && id.owner == owner_id && e.phase != actor_phase::dead)
      out.push_back(id);
  return out;
}

actor_status actor_directory::status_of(const object_id& id, const actor_entry* e) {
  actor_status st;
  st.id = id;
  if (!e) {
    st.death = {error_kind::actor_died, id.to_string(), "", "no such actor"};
  } else if (e->phase == actor_phase::alive) {
    st.alive = true;
    st.instance = e->instance;
    st.address = e->address;
    st.worker_core = e->core;
    st.shared = e->rec.shared;
  } else {
    st.death = e->death;
    st.restarting = e->phase == actor_phase::restarting;
  }
  if (e)
    st.max_task_retries = e->rec.max_task_retries;
  return st;
}

} // namespace troupe
