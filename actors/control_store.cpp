#include "actors/control_store.hpp"
#include "lib/protocol/handles.hpp"
#include "lib/protocol/messages.hpp"
#include "lib/protocol/status.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "scheduler/resources.hpp"

namespace troupe {

std::uint64_t control_store_state::add_job(const job_spec& spec) {
  auto id = next_job++;
  jobs[id] = {id,           spec.pid,      spec.exe, spec.embedded, true,
              spec.node_id, spec.exe_hash, spec.core};
  return id;
}

bool control_store_state::job_ended(std::uint64_t job_id) {
  auto it = jobs.find(job_id);
  if (it == jobs.end() || !it->second.alive)
    return false;
  it->second.alive = false;
  return it->second.embedded;
}

node_info control_store_state::add_node(node_info n) {
  n.node_id = nodes.empty() ? 1 : nodes.rbegin()->first + 1;
  n.alive = true;
  nodes[n.node_id] = n;
  return n;
}

void control_store_state::record_location(const object_location& loc) {
  if (loc.present) {
    if (auto n = nodes.find(loc.node); n == nodes.end() || n->second.alive)
      locations[loc.id][loc.node] = {loc.offset, loc.size};
    return;
  }
  auto it = locations.find(loc.id);
  if (it == locations.end())
    return;
  it->second.erase(loc.node);
  if (it->second.empty())
    locations.erase(it);
}

object_locations control_store_state::locations_of(const object_id& id) const {
  object_locations out;
  out.id = id;
  if (auto it = locations.find(id); it != locations.end())
    for (auto& [node, where] : it->second) {
      out.nodes.push_back(node);
      out.offsets.push_back(where.first);
      out.size = where.second;
    }
  return out;
}

std::vector<object_id> control_store_state::node_died(std::uint64_t node_id) {
  std::vector<object_id> out;
  auto it = nodes.find(node_id);
  if (it == nodes.end() || !it->second.alive)
    return out;
  it->second.alive = false;
  for (auto l = locations.begin(); l != locations.end();) {
    l->second.erase(node_id);
    l = l->second.empty() ? locations.erase(l) : std::next(l);
  }
  for (auto& [id, e] : actors)
    if (e.st != actor_entry::phase::dead && e.worker_id != 0
        && node_of_worker(e.worker_id) == node_id)
      out.push_back(id);
  return out;
}

namespace {

const char* phase_name(actor_entry::phase p) {
  switch (p) {
    case actor_entry::phase::pending: return "pending";
    case actor_entry::phase::alive: return "alive";
    case actor_entry::phase::dying: return "dying";
    case actor_entry::phase::dead: return "dead";
  }
  return "?";
}

} // namespace

std::string control_store_state::describe_json() const {
  auto address = [](const std::string& host, std::uint16_t port) {
    return host + ':' + std::to_string(port);
  };
  control_store_status doc;
  doc.node = {node.node_id, address(node.host, node.port), true, {}};
  for (auto& [id, n] : nodes)
    doc.nodes.push_back({id, address(n.host, n.port), n.alive, n.total});
  for (auto& [id, j] : jobs)
    doc.jobs.push_back({id, j.pid, j.alive});
  for (auto& [id, e] : actors)
    doc.actors.push_back({id.to_string(), e.rec.class_name, e.rec.name, e.rec.name_space,
                          phase_name(e.st), node_of_worker(e.worker_id), e.rec.detached,
                          e.death.message});
  return to_json_text(doc);
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
  bool head = true;
  control_store_actor head_cs; ///< members: the head's control store
  std::map<caf::actor_addr, std::uint64_t> job_of_core;
  std::map<caf::actor_addr, object_id> actor_of_instance;
  std::map<std::uint64_t, core_actor> owners; ///< owner id -> its core actor
  std::map<std::uint64_t, std::uint64_t> owner_node; ///< owner id -> node
  std::map<caf::actor_addr, std::uint64_t> node_of_cs; ///< members' control stores
  /// Members: processes of this node watched for the head.
  std::map<caf::actor_addr, caf::actor> watched;
  /// The other nodes' control stores, and this node's processes: each is
  /// introduced to each (see the routing note in the header).
  std::map<std::uint64_t, control_store_actor> peers;
  std::map<caf::actor_addr, core_actor> local_cores;
  static inline const char* name = "troupe.control_store";
};

using cs_ptr = control_store_actor::stateful_pointer<cs_actor_state>;

const control_store_actor& head_of(cs_ptr self) {
  return self->state.head_cs;
}

/// Returns the local scheduler of the worker's node (or nullptr).
local_scheduler_actor scheduler_of_worker(cs_ptr self, std::uint64_t worker_id) {
  auto& st = self->state.st;
  auto it = st.nodes.find(node_of_worker(worker_id));
  if (it != st.nodes.end() && it->second.alive)
    return it->second.scheduler;
  return {};
}

/// Sends `xs` to the local scheduler of every alive node.
template <class... Ts>
void to_all_schedulers(cs_ptr self, const Ts&... xs) {
  for (auto& [id, n] : self->state.st.nodes)
    if (n.alive)
      self->send(n.scheduler, xs...);
}

/// Tells everyone waiting for the actor how it is.
void answer_waiters(cs_ptr self, const object_id& id, actor_entry& e) {
  auto status = control_store_state::status_of(id, &e);
  for (auto& w : e.waiters) {
    self->send(w, actor_atom::value, status);
    e.subscribers.push_back(w);
  }
  e.waiters.clear();
  if (e.st == actor_entry::phase::dead) {
    for (auto& s : e.subscribers)
      self->send(s, actor_atom::value, status);
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
    if (auto sched = scheduler_of_worker(self, e.worker_id))
      self->send(sched, kill_atom::value, e.worker_id);
}

/// Stops the node's other actors, then the control store itself.
void stop_node(cs_ptr self) {
  auto& node = self->state.st.node;
  auto sched = node.scheduler;
  auto store = node.store_manager;
  auto cluster = node.cluster;
  if (self->state.head && cluster)
    caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
  self->request(sched, std::chrono::seconds(5), stop_atom::value)
    .then([=](bool) {
      self->request(store, std::chrono::seconds(5), stop_atom::value)
        .then([=](bool) { self->quit(); }, [=](caf::error&) { self->quit(); });
    },
    [=](caf::error&) { self->quit(); });
}

/// Head: a process (a core actor or an actor instance) is gone.
void process_gone(cs_ptr self, const caf::actor_addr& who) {
  auto& s = self->state;
  if (auto a = s.actor_of_instance.find(who); a != s.actor_of_instance.end()) {
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
  // A driver or worker is gone: so are its non-detached actors.
  for (auto& [id, e] : s.st.actors)
    if (!e.rec.detached && e.rec.owner && e.rec.owner.address() == who
        && e.st != actor_entry::phase::dead)
      kill_actor(self, e);
  for (auto it = s.owners.begin(); it != s.owners.end();) {
    if (it->second.address() == who) {
      s.owner_node.erase(it->first);
      it = s.owners.erase(it);
    } else {
      ++it;
    }
  }
  auto it = s.job_of_core.find(who);
  if (it == s.job_of_core.end())
    return;
  auto job = it->second;
  s.job_of_core.erase(it);
  auto& rec = s.st.jobs[job];
  to_all_schedulers(self, job_end_atom::value, rec.exe);
  if (s.st.job_ended(job)) {
    spdlog::info("the embedded driver is gone: stopping the node");
    stop_node(self);
  }
}

/// Head: a member node stopped answering.
void node_gone(cs_ptr self, std::uint64_t node_id, const std::string& reason) {
  auto& s = self->state;
  auto n = s.st.nodes.find(node_id);
  if (n == s.st.nodes.end() || !n->second.alive)
    return;
  auto actors = s.st.node_died(node_id);
  auto why = "node " + std::to_string(node_id) + " died (" + reason + ")";
  spdlog::warn("{}", why);
  caf::anon_send(s.st.node.cluster, node_down_atom::value, node_id);
  for (auto& id : actors)
    settle(self, id, "its " + why);
  for (auto& [id, j] : s.st.jobs)
    if (j.alive && j.node_id == node_id) {
      j.alive = false;
      to_all_schedulers(self, job_end_atom::value, j.exe);
    }
  std::vector<core_actor> cores;
  for (auto it = s.owners.begin(); it != s.owners.end();) {
    if (s.owner_node[it->first] == node_id) {
      s.owner_node.erase(it->first);
      it = s.owners.erase(it);
    } else {
      cores.push_back(it->second);
      ++it;
    }
  }
  for (auto& c : cores)
    self->send(c, node_down_atom::value, node_id, why);
}

/// Introduces `cores` (processes of this node) to the control store `peer`.
void introduce(cs_ptr self, const control_store_actor& peer,
               std::vector<core_actor> cores) {
  if (peer && !cores.empty())
    self->send(peer, introduce_atom::value, owner_list{std::move(cores)});
}

std::vector<core_actor> local_cores(cs_ptr self) {
  std::vector<core_actor> out;
  for (auto& [addr, core] : self->state.local_cores)
    out.push_back(core);
  return out;
}

/// Learns the cluster's nodes: new peers meet this node's processes.
void set_peers(cs_ptr self, const std::vector<node_info>& nodes) {
  auto& s = self->state;
  for (auto& n : nodes) {
    if (n.node_id == s.st.node.node_id || !n.control)
      continue;
    if (!n.alive) {
      s.peers.erase(n.node_id);
      continue;
    }
    if (s.peers.emplace(n.node_id, n.control).second)
      introduce(self, n.control, local_cores(self));
  }
}

/// Members: passes a message about the cluster's state to the head; returns
/// false on the head itself, which handles it.
template <class... Ts>
bool passed_to_head(cs_ptr self, const Ts&... xs) {
  if (self->state.head)
    return false;
  self->send(head_of(self), xs...);
  return true;
}

/// Members: watch a process of this node (a core actor or an actor
/// instance) for the head.
template <class Handle>
void watch(cs_ptr self, const Handle& who) {
  if (!who || self->state.head)
    return;
  self->state.watched[who.address()] = handle_cast<caf::actor>(who);
  self->monitor(who);
}

control_store_actor::behavior_type cs_fn(cs_ptr self, node_info node,
                                         control_store_actor head) {
  auto& s = self->state;
  s.head = !head;
  s.head_cs = head;
  s.st.node = std::move(node);
  if (s.head) {
    s.st.node.node_id = 1;
    s.st.node.control = control_store_actor{self};
    s.st.nodes[1] = s.st.node;
  } else {
    self->monitor(head);
  }
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (!s.head) {
      if (dm.source == s.head_cs.address()) {
        spdlog::error("the head node is gone ({}): stopping this node",
                      caf::to_string(dm.reason));
        stop_node(self);
        return;
      }
      s.local_cores.erase(dm.source);
      auto it = s.watched.find(dm.source);
      if (it != s.watched.end()) {
        self->send(head_of(self), gone_atom::value, it->second);
        s.watched.erase(it);
      }
      return;
    }
    if (auto n = s.node_of_cs.find(dm.source); n != s.node_of_cs.end()) {
      auto id = n->second;
      s.node_of_cs.erase(n);
      s.peers.erase(id);
      node_gone(self, id, caf::to_string(dm.reason));
      return;
    }
    s.local_cores.erase(dm.source);
    process_gone(self, dm.source);
  });
  return {
    [self](node_atom, std::uint16_t port) {
      auto& st = self->state.st;
      st.node.port = port;
      if (self->state.head)
        st.nodes[st.node.node_id].port = port;
    },
    [self](node_atom) -> node_info { return self->state.st.node; },
    [self](join_atom, node_info n) -> caf::result<node_info> {
      auto& s = self->state;
      if (!s.head) {
        // This node's daemon asks: join the head on its behalf.
        auto rp = self->make_response_promise<node_info>();
        self->request(head_of(self), std::chrono::seconds(10), join_atom::value, n)
          .then(
            [self, rp](node_info& joined) mutable {
              auto& node = self->state.st.node;
              node.node_id = joined.node_id;
              node.cluster = joined.cluster;
              node.control = joined.control;
              // Meet the nodes there are already.
              self->request(head_of(self), std::chrono::seconds(10), nodes_atom::value)
                .then([self](const node_list& l) { set_peers(self, l.nodes); },
                      [](caf::error&) {});
              rp.deliver(joined);
            },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      }
      n.cluster = s.st.node.cluster;
      auto joined = s.st.add_node(std::move(n));
      s.node_of_cs[joined.control.address()] = joined.node_id;
      self->monitor(joined.control);
      spdlog::info("node {} joined from {}:{} with {}", joined.node_id, joined.host,
                   joined.port, sched::to_string(joined.total));
      self->send(s.st.node.cluster, join_atom::value, joined.node_id, joined.total,
                 joined.scheduler);
      // Its scheduler learns the live jobs, as every other one did.
      for (auto& [id, j] : s.st.jobs)
        if (j.alive)
          self->send(joined.scheduler, hello_atom::value, j.exe, j.exe_hash, j.core);
      // Every node learns of every other (and meets its processes).
      node_list all;
      for (auto& [id, n] : s.st.nodes)
        all.nodes.push_back(n);
      set_peers(self, all.nodes);
      for (auto& [id, n] : s.st.nodes)
        if (n.alive && id != s.st.node.node_id && id != joined.node_id)
          self->send(n.control, nodes_atom::value, all);
      return joined;
    },
    [self](nodes_atom) -> caf::result<node_list> {
      if (!self->state.head)
        return self->delegate(head_of(self), nodes_atom::value);
      node_list out;
      for (auto& [id, n] : self->state.st.nodes)
        out.nodes.push_back(n);
      return out;
    },
    [self](hello_atom, job_spec spec) -> caf::result<hello_reply> {
      auto& s = self->state;
      if (!s.head) {
        watch(self, spec.core);
        spec.node_id = s.st.node.node_id;
        return self->delegate(head_of(self), hello_atom::value, std::move(spec));
      }
      if (spec.node_id == 0)
        spec.node_id = s.st.node.node_id;
      auto id = s.st.add_job(spec);
      if (spec.core) {
        if (spec.node_id == s.st.node.node_id)
          self->monitor(spec.core);
        s.job_of_core[spec.core.address()] = id;
      }
      to_all_schedulers(self, hello_atom::value, spec.exe, spec.exe_hash, spec.core);
      return hello_reply{id, s.st.node};
    },
    [self](status_atom) -> caf::result<std::string> {
      if (!self->state.head)
        return self->delegate(head_of(self), status_atom::value);
      return self->state.st.describe_json();
    },
    [self](stop_atom) -> bool {
      stop_node(self);
      return true;
    },
    [self](register_atom, const actor_record& rec) -> caf::result<std::string> {
      if (!self->state.head)
        return self->delegate(head_of(self), register_atom::value, rec);
      auto why = self->state.st.register_actor(rec);
      return why;
    },
    [self](actor_up_atom, const object_id& id, const executor_actor& instance,
           std::uint64_t worker_id) {
      auto& s = self->state;
      if (!s.head) {
        watch(self, instance);
        self->send(head_of(self), actor_up_atom::value, id, instance, worker_id);
        return;
      }
      auto* e = s.st.find(id);
      if (!e || e->st != actor_entry::phase::pending)
        return;
      e->st = actor_entry::phase::alive;
      e->instance = instance;
      e->worker_id = worker_id;
      s.actor_of_instance[instance.address()] = id;
      if (node_of_worker(worker_id) == s.st.node.node_id)
        self->monitor(instance);
      if (e->kill_requested)
        kill_actor(self, *e);
      answer_waiters(self, id, *e);
    },
    [self](actor_fail_atom, const object_id& id, const error_info& why) {
      if (passed_to_head(self, actor_fail_atom::value, id, why))
        return;
      auto cause = "its constructor failed: " + (why.exception_type.empty()
                                                   ? why.message
                                                   : why.exception_type + ": " + why.message);
      settle(self, id, cause);
    },
    [self](resolve_atom, const object_id& id, const core_actor& caller) {
      if (passed_to_head(self, resolve_atom::value, id, caller))
        return;
      auto* e = self->state.st.find(id);
      if (e && (e->st == actor_entry::phase::pending || e->st == actor_entry::phase::dying)) {
        e->waiters.push_back(caller);
        return;
      }
      self->send(caller, actor_atom::value, control_store_state::status_of(id, e));
      if (e && e->st == actor_entry::phase::alive) {
        auto same = [&](const core_actor& x) { return x.address() == caller.address(); };
        if (std::none_of(e->subscribers.begin(), e->subscribers.end(), same))
          e->subscribers.push_back(caller);
      }
    },
    [self](kill_atom, const object_id& id) {
      if (passed_to_head(self, kill_atom::value, id))
        return;
      auto* e = self->state.st.find(id);
      if (!e || e->st == actor_entry::phase::dead)
        return;
      if (e->st == actor_entry::phase::pending && e->worker_id == 0) {
        e->kill_requested = true; // killed as soon as it is up
        return;
      }
      kill_actor(self, *e);
    },
    [self](lookup_atom, const std::string& name,
           const std::string& ns) -> caf::result<actor_record> {
      if (!self->state.head)
        return self->delegate(head_of(self), lookup_atom::value, name, ns);
      auto* e = self->state.st.find_by_name(name, ns);
      return e ? e->rec : actor_record{};
    },
    [self](worker_exit_atom, std::uint64_t worker_id, const std::string& why) {
      if (passed_to_head(self, worker_exit_atom::value, worker_id, why))
        return;
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
    [self](register_atom, const owner_entry& owner, std::uint64_t node_id) {
      auto& [owner_id, core] = owner;
      auto& s = self->state;
      if (node_id == s.st.node.node_id && core
          && s.local_cores.emplace(core.address(), core).second)
        for (auto& [id, peer] : s.peers)
          introduce(self, peer, {core});
      if (!s.head) {
        watch(self, core); // its non-detached actors die with it
        self->send(head_of(self), register_atom::value, owner, node_id);
        return;
      }
      s.owners[owner_id] = core;
      s.owner_node[owner_id] = node_id;
      if (node_id == s.st.node.node_id)
        self->monitor(core);
    },
    [self](owner_atom, std::uint64_t owner_id, const core_actor& caller) {
      if (passed_to_head(self, owner_atom::value, owner_id, caller))
        return;
      auto it = self->state.owners.find(owner_id);
      self->send(caller, owner_atom::value,
                 owner_entry{owner_id, it == self->state.owners.end() ? core_actor{}
                                                                      : it->second});
    },
    [self](owner_atom) -> caf::result<owner_list> {
      if (!self->state.head)
        return self->delegate(head_of(self), owner_atom::value);
      owner_list out;
      for (auto& [id, core] : self->state.owners)
        out.cores.push_back(core);
      return out;
    },
    [self](finalize_atom, const object_id& id) {
      auto* e = self->state.st.find(id);
      if (e && e->st == actor_entry::phase::dying)
        settle(self, id, "its worker process became unreachable");
    },
    [self](gone_atom, const caf::actor& who) {
      if (self->state.head)
        process_gone(self, who.address());
    },
    [self](nodes_atom, const node_list& l) { set_peers(self, l.nodes); },
    [self](object_atom, const object_location& loc) {
      if (!passed_to_head(self, object_atom::value, loc))
        self->state.st.record_location(loc);
    },
    [self](object_atom, const object_id& id) -> caf::result<object_locations> {
      if (!self->state.head)
        return self->delegate(head_of(self), object_atom::value, id);
      return self->state.st.locations_of(id);
    },
    [](introduce_atom, const owner_list&) {
      // Reading the handles taught this node's middleman the routes.
    },
  };
}

} // namespace

control_store_actor spawn_control_store(caf::actor_system& sys, node_info node,
                                        control_store_actor head) {
  return sys.spawn(cs_fn, std::move(node), std::move(head));
}

} // namespace troupe
