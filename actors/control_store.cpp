#include "actors/control_store.hpp"

#include <algorithm>
#include <sstream>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "lib/src/core_actor.hpp"
#include "scheduler/local_scheduler.hpp"
#include "store/store_manager.hpp"

namespace troupe {

std::uint64_t control_store_state::add_job(const job_spec& spec) {
  auto id = next_job++;
  jobs[id] = {id, spec.pid, spec.exe, spec.embedded, true};
  return id;
}

bool control_store_state::job_ended(std::uint64_t job_id) {
  auto it = jobs.find(job_id);
  if (it == jobs.end() || !it->second.alive)
    return false;
  it->second.alive = false;
  return it->second.embedded;
}

std::string control_store_state::describe_json() const {
  std::ostringstream out;
  out << "{\"node\":{\"id\":" << node.node_id << ",\"address\":\"" << node.host << ':'
      << node.port << "\",\"alive\":true},\"jobs\":[";
  bool first = true;
  for (auto& [id, j] : jobs) {
    out << (first ? "" : ",") << "{\"id\":" << id << ",\"pid\":" << j.pid
        << ",\"alive\":" << (j.alive ? "true" : "false") << '}';
    first = false;
  }
  out << "]}";
  return out.str();
}

std::string control_store_state::register_actor(const actor_record& rec) {
  if (!rec.name.empty()) {
    if (auto* other = find_by_name(rec.name, rec.name_space))
      return "an actor named '" + rec.name + "' already exists in namespace '"
             + rec.name_space + "' (" + other->rec.class_name + ")";
    names[{rec.name_space, rec.name}] = rec.id;
  }
  actors[rec.id].rec = rec;
  return {};
}

actor_entry* control_store_state::find(const object_id& id) {
  auto it = actors.find(id);
  return it == actors.end() ? nullptr : &it->second;
}

const actor_entry* control_store_state::find_by_name(const std::string& name,
                                                     const std::string& ns) const {
  auto it = names.find({ns, name});
  if (it == names.end())
    return nullptr;
  auto a = actors.find(it->second);
  return a == actors.end() || a->second.st == actor_entry::phase::dead ? nullptr
                                                                       : &a->second;
}

actor_entry* control_store_state::settle_dead(const object_id& id, const std::string& why) {
  auto* e = find(id);
  if (!e || e->st == actor_entry::phase::dead)
    return nullptr;
  e->st = actor_entry::phase::dead;
  auto display = e->rec.name.empty() ? e->rec.class_name : e->rec.name;
  e->death = {error_kind::actor_died, display, "", why};
  e->instance = nullptr;
  if (!e->rec.name.empty())
    names.erase({e->rec.name_space, e->rec.name});
  return e;
}

actor_status control_store_state::status_of(const object_id& id, const actor_entry* e) {
  actor_status st;
  st.id = id;
  if (!e) {
    st.death = {error_kind::actor_died, id.to_string(), "", "no such actor"};
  } else if (e->st == actor_entry::phase::alive) {
    st.alive = true;
    st.instance = e->instance;
  } else {
    st.death = e->death;
  }
  return st;
}

namespace {

struct cs_actor_state {
  control_store_state st;
  std::map<caf::actor_addr, std::uint64_t> job_of_core;
  std::map<caf::actor_addr, object_id> actor_of_instance;
  std::map<std::uint64_t, caf::actor> owners; ///< owner id -> its core actor
  static inline const char* name = "troupe.control_store";
};

using cs_ptr = control_store_actor::stateful_pointer<cs_actor_state>;

sched::local_scheduler_actor scheduler_of(cs_ptr self) {
  return caf::actor_cast<sched::local_scheduler_actor>(self->state.st.node.scheduler);
}

/// Tells everyone waiting for the actor how it is.
void answer_waiters(cs_ptr self, const object_id& id, actor_entry& e) {
  auto status = control_store_state::status_of(id, &e);
  for (auto& w : e.waiters) {
    self->send(caf::actor_cast<detail::core_actor>(w), actor_atom::value, status);
    e.subscribers.push_back(w);
  }
  e.waiters.clear();
  if (e.st == actor_entry::phase::dead) {
    for (auto& s : e.subscribers)
      self->send(caf::actor_cast<detail::core_actor>(s), actor_atom::value, status);
    e.subscribers.clear();
  }
}

void settle(cs_ptr self, const object_id& id, const std::string& why) {
  if (auto* e = self->state.st.settle_dead(id, why)) {
    spdlog::info("actor {} died: {}", e->death.task_name, why);
    answer_waiters(self, id, *e);
  }
}

/// Kills the actor's worker process; its death is settled when it is gone.
void kill_actor(cs_ptr self, actor_entry& e) {
  e.kill_requested = true;
  if (e.worker_id != 0)
    self->send(scheduler_of(self), kill_atom::value, e.worker_id);
}

/// Stops the node's other actors, then the control store itself.
void stop_node(cs_ptr self) {
  auto& node = self->state.st.node;
  auto sched = caf::actor_cast<sched::local_scheduler_actor>(node.scheduler);
  auto store = caf::actor_cast<store::store_manager_actor>(node.store_manager);
  self->request(sched, std::chrono::seconds(5), stop_atom::value)
    .then([=](bool) {
      self->request(store, std::chrono::seconds(5), stop_atom::value)
        .then([=](bool) { self->quit(); }, [=](caf::error&) { self->quit(); });
    },
    [=](caf::error&) { self->quit(); });
}

control_store_actor::behavior_type cs_fn(cs_ptr self, node_info node) {
  self->state.st.node = std::move(node);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (auto a = s.actor_of_instance.find(dm.source); a != s.actor_of_instance.end()) {
      auto id = a->second;
      s.actor_of_instance.erase(a);
      auto* e = s.st.find(id);
      if (!e || e->st != actor_entry::phase::alive)
        return;
      if (e->kill_requested) {
        settle(self, id, "killed by troupe::kill");
        return;
      }
      // The scheduler tells how its worker ended; if it does not, say what
      // we know after a while.
      e->st = actor_entry::phase::dying;
      self->delayed_send(self, std::chrono::seconds(1), finalize_atom::value, id);
      return;
    }
    // A driver is gone: so are its non-detached actors.
    for (auto& [id, e] : s.st.actors)
      if (!e.rec.detached && e.rec.owner && e.rec.owner.address() == dm.source
          && e.st != actor_entry::phase::dead)
        kill_actor(self, e);
    auto it = self->state.job_of_core.find(dm.source);
    if (it == self->state.job_of_core.end())
      return;
    auto job = it->second;
    self->state.job_of_core.erase(it);
    auto& node = self->state.st.node;
    auto& rec = self->state.st.jobs[job];
    self->send(caf::actor_cast<sched::local_scheduler_actor>(node.scheduler),
               job_end_atom::value, rec.exe);
    if (self->state.st.job_ended(job)) {
      spdlog::info("the embedded driver is gone: stopping the node");
      stop_node(self);
    }
  });
  return {
    [self](node_atom, std::uint16_t port) { self->state.st.node.port = port; },
    [self](node_atom) -> node_info { return self->state.st.node; },
    [self](hello_atom, const job_spec& spec) -> hello_reply {
      auto& s = self->state;
      auto id = s.st.add_job(spec);
      if (spec.core) {
        self->monitor(spec.core);
        s.job_of_core[spec.core.address()] = id;
      }
      self->send(caf::actor_cast<sched::local_scheduler_actor>(s.st.node.scheduler),
                 hello_atom::value, spec.exe);
      return {id, s.st.node};
    },
    [self](status_atom) -> std::string { return self->state.st.describe_json(); },
    [self](stop_atom) -> bool {
      stop_node(self);
      return true;
    },
    [self](register_atom, const actor_record& rec) -> std::string {
      auto why = self->state.st.register_actor(rec);
      if (why.empty() && rec.owner)
        self->monitor(rec.owner); // its non-detached actors die with it
      return why;
    },
    [self](actor_up_atom, const object_id& id, const caf::actor& instance,
           std::uint64_t worker_id) {
      auto& s = self->state;
      auto* e = s.st.find(id);
      if (!e || e->st != actor_entry::phase::pending)
        return;
      e->st = actor_entry::phase::alive;
      e->instance = instance;
      e->worker_id = worker_id;
      s.actor_of_instance[instance.address()] = id;
      self->monitor(instance);
      if (e->kill_requested)
        kill_actor(self, *e);
      answer_waiters(self, id, *e);
    },
    [self](actor_fail_atom, const object_id& id, const error_info& why) {
      auto cause = "its constructor failed: " + (why.exception_type.empty()
                                                   ? why.message
                                                   : why.exception_type + ": " + why.message);
      settle(self, id, cause);
    },
    [self](resolve_atom, const object_id& id, const caf::actor& caller) {
      auto* e = self->state.st.find(id);
      if (e && (e->st == actor_entry::phase::pending || e->st == actor_entry::phase::dying)) {
        e->waiters.push_back(caller);
        return;
      }
      self->send(caf::actor_cast<detail::core_actor>(caller), actor_atom::value,
                 control_store_state::status_of(id, e));
      if (e && e->st == actor_entry::phase::alive) {
        auto same = [&](const caf::actor& x) { return x.address() == caller.address(); };
        if (std::none_of(e->subscribers.begin(), e->subscribers.end(), same))
          e->subscribers.push_back(caller);
      }
    },
    [self](kill_atom, const object_id& id) {
      auto* e = self->state.st.find(id);
      if (!e || e->st == actor_entry::phase::dead)
        return;
      if (e->st == actor_entry::phase::pending && e->worker_id == 0) {
        e->kill_requested = true; // killed as soon as it is up
        return;
      }
      kill_actor(self, *e);
    },
    [self](lookup_atom, const std::string& name, const std::string& ns) -> actor_record {
      auto* e = self->state.st.find_by_name(name, ns);
      return e ? e->rec : actor_record{};
    },
    [self](worker_exit_atom, std::uint64_t worker_id, const std::string& why) {
      for (auto& [id, e] : self->state.st.actors) {
        if (e.worker_id != worker_id || e.st == actor_entry::phase::dead)
          continue;
        if (e.kill_requested)
          settle(self, id, "killed by troupe::kill");
        else if (why.find("exited with status 0") != std::string::npos)
          settle(self, id, "it ended itself (troupe::exit_actor)");
        else
          settle(self, id, "its worker crashed: " + why);
        return;
      }
    },
    [self](register_atom, std::uint64_t owner_id, const caf::actor& core) {
      self->state.owners[owner_id] = core;
    },
    [self](owner_atom, std::uint64_t owner_id, const caf::actor& caller) {
      auto it = self->state.owners.find(owner_id);
      self->send(caf::actor_cast<detail::core_actor>(caller), owner_atom::value, owner_id,
                 it == self->state.owners.end() ? caf::actor{} : it->second);
    },
    [self](finalize_atom, const object_id& id) {
      auto* e = self->state.st.find(id);
      if (e && e->st == actor_entry::phase::dying)
        settle(self, id, "its worker process became unreachable");
    },
  };
}

} // namespace

control_store_actor spawn_control_store(caf::actor_system& sys, node_info node) {
  return sys.spawn(cs_fn, std::move(node));
}

} // namespace troupe
