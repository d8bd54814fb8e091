// The head's control store: the cluster's state (control_store_state) behind
// the control store's interface. Decisions are the state's; this file turns
// messages into its calls and its answers into messages.
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/control_store_roles.hpp"
#include "scheduler/resources.hpp"

namespace troupe {

namespace {

/// Sends `xs` to the local scheduler of every alive node.
template <class... Ts>
void to_all_schedulers(cs_ptr self, const Ts&... xs) {
  for (auto& [id, n] : self->state.st.nodes.all())
    if (n.alive)
      self->send(n.scheduler, xs...);
}

/// Tells the callers of a notice how their actor is.
void tell(cs_ptr self, const actor_notice& n) {
  for (auto caller : n.callers)
    if (auto core = self->state.st.objects.core_of(caller))
      self->send(core, actor_atom::value, n.status);
}

void settle(cs_ptr self, const object_id& id, const std::string& why) {
  if (auto n = self->state.st.actors.settle(id, why)) {
    spdlog::info("actor {} died: {}", n->status.death.task_name, why);
    tell(self, *n);
  }
}

/// Asks an actor's creator to build it again, or, its creator gone, the
/// head's rebuilder (from the creation the creator kept here).
void request_restart(cs_ptr self, const control_store_state::actor_restart& r) {
  if (r.creator) {
    self->send(r.creator, restart_atom::value, r.id, r.restarts);
    return;
  }
  auto& s = self->state;
  if (!s.rebuilder)
    s.rebuilder = spawn_actor_rebuilder(self->system(), control_store_actor{self},
                                        s.st.node.scheduler);
  self->send(s.rebuilder, restart_atom::value, r.id, r.restarts, r.creation);
}

/// The actor died because `why`: it restarts if that is `restartable` and
/// its options and creator allow, or it is dead.
void died(cs_ptr self, const object_id& id, const std::string& why, bool restartable) {
  std::optional<control_store_state::actor_restart> restart;
  auto n = self->state.st.actor_died(id, why, restartable, restart);
  if (!n)
    return;
  spdlog::info("actor {} died: {}", n->status.death.task_name, n->status.death.message);
  if (restart)
    request_restart(self, *restart);
  tell(self, *n);
}

/// Kills the worker process `worker`, wherever it runs.
void kill_worker(cs_ptr self, std::uint64_t worker) {
  if (auto* n = self->state.st.nodes.alive(node_of_worker(worker)))
    self->send(n->scheduler, kill_atom::value, worker);
}

/// A light actor (build number `restarts`) ended itself; its host goes on.
void light_actor_ended(cs_ptr self, const object_id& id, std::uint32_t restarts,
                       const std::string& why) {
  auto* e = self->state.st.actors.find(id);
  if (e && e->restarts == restarts
      && (e->phase == actor_phase::alive || e->phase == actor_phase::dying))
    died(self, id, why, false);
  save(self);
}

/// A light actor's instance stops after the call it runs now (a method
/// cannot be interrupted: it ends on its thread, its result dropped). Its
/// death is settled at once, since its host process goes on.
bool kill_light_actor(cs_ptr self, const object_id& id) {
  auto* e = self->state.st.actors.find(id);
  if (!e || !e->rec.shared || e->phase != actor_phase::alive || !e->instance)
    return false;
  caf::anon_send_exit(e->instance, caf::exit_reason::kill);
  died(self, id, e->kill_reason, e->kill_restarts);
  return true;
}

/// Kills the actor's worker process (now, or as soon as it is up); its
/// death is settled when the worker is gone. A light actor's host stays. `no_restart`: for good, also
/// while it is being rebuilt. `why` becomes its death.
void kill_actor(cs_ptr self, const object_id& id, bool no_restart = true,
                std::string why = "killed by troupe::kill") {
  auto& actors = self->state.st.actors;
  auto worker = actors.request_kill(id, no_restart, why);
  if (worker != 0 && kill_light_actor(self, id))
    return;
  if (worker != 0) {
    kill_worker(self, worker);
    return;
  }
  auto* e = actors.find(id);
  if (e && e->phase == actor_phase::restarting && no_restart)
    settle(self, id, why + " while it was restarting");
}

/// A process (a core actor or an actor instance) is gone.
void process_gone(cs_ptr self, const caf::actor_addr& who) {
  auto& s = self->state;
  if (auto a = s.actor_of_instance.find(who); a != s.actor_of_instance.end()) {
    auto id = a->second;
    s.actor_of_instance.erase(a);
    auto* e = s.st.actors.find(id);
    if (e && e->phase == actor_phase::alive && e->kill_requested)
      died(self, id, e->kill_reason, e->kill_restarts);
    else if (s.st.actors.instance_down(id))
      // The scheduler tells how its worker ended; if it does not, say what
      // we know after a while.
      self->delayed_send(self, std::chrono::seconds(1), finalize_atom::value, id);
    return;
  }
  // A driver or worker is gone: so are its non-detached actors, a driver's
  // job, and the leases it held on any node.
  if (auto owner = s.st.objects.owner_at(who)) {
    if (auto core = s.st.objects.core_of(*owner))
      to_all_schedulers(self, gone_atom::value, core);
    for (auto& id : s.st.owner_gone(*owner))
      kill_actor(self, id, true, "its creator is gone (it was not detached)");
  }
  auto job = s.st.nodes.end_job_of(who);
  if (!job)
    return;
  to_all_schedulers(self, job_end_atom::value, job->exe);
  if (job->embedded) {
    spdlog::info("the embedded driver is gone: stopping the node");
    stop_node(self);
  }
}

/// A member node stopped answering.
void node_gone(cs_ptr self, std::uint64_t node_id, const std::string& reason) {
  auto& st = self->state.st;
  auto death = st.node_died(node_id, reason);
  if (!death)
    return;
  spdlog::warn("{}", death->why);
  caf::anon_send(st.node.cluster, node_down_atom::value, node_id);
  for (auto& r : death->restarts)
    request_restart(self, r);
  for (auto& n : death->actors)
    tell(self, n);
  for (auto& j : death->jobs)
    to_all_schedulers(self, job_end_atom::value, j.exe);
  for (auto& core : death->other_owners)
    self->send(core, node_down_atom::value, node_id, death->why);
  // Leases its processes held on other nodes come back.
  for (auto& core : death->gone_owners)
    to_all_schedulers(self, gone_atom::value, core);
}

/// A member node joins: it gets its id, the schedulers and the cluster
/// scheduler learn of it, and every node of every other.
caf::result<node_info> join(cs_ptr self, node_info n) {
  auto& st = self->state.st;
  if (n.node_id != 0 && !st.nodes.alive(n.node_id)) {
    // A node given up (declared dead, its work failed over) or never known
    // here does not come back under its id: it stops, as its processes'
    // owners were told it died.
    auto why = "node " + std::to_string(n.node_id) + " was "
               + (st.nodes.all().count(n.node_id) ? "declared dead" : "never part of this cluster");
    spdlog::warn("refused node {}:{} back: {}", n.host, n.port, why);
    return caf::make_error(caf::sec::runtime_error, "refused: " + why);
  }
  n.cluster = st.node.cluster;
  auto joined = st.nodes.add(std::move(n));
  if (self->state.unconfirmed_nodes.erase(joined.node_id) > 0)
    spdlog::warn("node {} is back after the head's restart", joined.node_id);
  self->state.node_of_cs[joined.control.address()] = joined.node_id;
  self->monitor(joined.control);
  spdlog::info("node {} joined from {}:{} with {}", joined.node_id, joined.host,
               joined.port, sched::to_string(joined.total));
  self->send(st.node.cluster, join_atom::value, joined.node_id, joined.total,
             joined.scheduler);
  // Its scheduler learns the live jobs, as every other one did.
  for (auto& j : st.nodes.live_jobs())
    self->send(joined.scheduler, hello_atom::value, j.exe, j.exe_hash, j.core);
  auto all = st.nodes.list();
  set_peers(self, all.nodes);
  for (auto& other : all.nodes)
    if (other.alive && other.node_id != st.node.node_id &&
        other.node_id != joined.node_id)
      self->send(other.control, nodes_atom::value, all);
  save(self, true); // before the reply: the node's id is the cluster's
  return joined;
}

hello_reply hello(cs_ptr self, job_spec spec) {
  auto& s = self->state;
  auto& st = s.st;
  if (spec.node_id == 0)
    spec.node_id = st.node.node_id;
  // A driver that resumes after the head's restart keeps its job.
  auto id = spec.job_id != 0 && st.nodes.resume_job(spec.job_id, spec)
                ? spec.job_id
                : st.nodes.add_job(spec);
  s.unconfirmed_jobs.erase(id);
  if (spec.core && spec.node_id == st.node.node_id)
    self->monitor(spec.core);
  to_all_schedulers(self, hello_atom::value, spec.exe, spec.exe_hash, spec.core);
  save(self, true); // before the reply: the job's id is the cluster's
  return hello_reply{id, st.node};
}

void actor_up(cs_ptr self, const object_id& id, const executor_actor& instance,
              std::uint64_t worker_id, const endpoint& address, const core_actor& core) {
  auto& s = self->state;
  s.unconfirmed.erase(id);
  s.orphans.erase(id);
  auto notice = s.st.actors.up(id, instance, worker_id, address, core);
  if (!notice) {
    // Built again after it was killed for good: that instance goes too.
    auto* e = s.st.actors.find(id);
    if (e && e->phase == actor_phase::dead && e->worker_id != worker_id)
      kill_worker(self, worker_id);
    return;
  }
  auto* e = s.st.actors.find(id);
  // A light actor's end is told (killed here, ended itself, or its host's
  // exit): no monitor per actor, of which there may be a million.
  if (!e->rec.shared) {
    s.actor_of_instance[instance.address()] = id;
    if (node_of_worker(worker_id) == s.st.node.node_id)
      self->monitor(instance);
  }
  if (e->kill_requested)
    kill_actor(self, id, !e->kill_restarts, e->kill_reason);
  tell(self, *notice);
}

/// The actor's creation failed. A worker that crashed or a node that died
/// while it was built is a death like any other; a constructor that threw
/// is for good. A failure of an earlier build (its worker died after the
/// actor came up, and that death restarted it already) changes nothing.
void creation_failed(cs_ptr self, const object_id& id, const error_info& why,
                     std::uint32_t restarts) {
  if (!self->state.st.actors.building(id, restarts))
    return;
  if (why.kind == error_kind::worker_crashed || why.kind == error_kind::node_died) {
    died(self, id, "its worker died while it was built: " + why.message, true);
    return;
  }
  settle(self, id,
         "its constructor failed: "
           + (why.exception_type.empty() ? why.message
                                         : why.exception_type + ": " + why.message));
}

/// An actor's creation finished on `worker_id`: its actor_up may be lost
/// with its node, whose death is then the actor's.
void creation_built(cs_ptr self, const object_id& id, std::uint64_t worker_id,
                    std::uint32_t restarts) {
  auto& st = self->state.st;
  if (st.actors.built(id, worker_id, restarts) && !st.nodes.alive(node_of_worker(worker_id)))
    died(self, id, "its node died while it was built", true);
}

void down(cs_ptr self, const caf::down_msg& dm) {
  auto& s = self->state;
  if (auto n = s.node_of_cs.find(dm.source); n != s.node_of_cs.end()) {
    auto id = n->second;
    s.node_of_cs.erase(n);
    s.peers.erase(id);
    node_gone(self, id, caf::to_string(dm.reason));
    return;
  }
  forget_process(self, dm.source);
  process_gone(self, dm.source);
}

/// An actor registers: a write its reply depends on.
registration register_actor(cs_ptr self, const actor_record& rec) {
  auto r = self->state.st.actors.add(rec);
  if (r.accepted && !save(self, true))
    return {false, {error_kind::head_unavailable, rec.class_name, "",
                    "the head cannot write its state (" + self->state.records->describe()
                      + ")"}};
  return r;
}

/// A process (driver or worker) registers under its owner id.
void register_owner(cs_ptr self, const owner_entry& owner, std::uint64_t node_id) {
  note_process(self, owner.core, node_id);
  self->state.st.objects.add_owner(owner.owner_id, owner.core, node_id, owner.address);
  if (node_id == self->state.st.node.node_id)
    self->monitor(owner.core);
  owner_back(self, owner.owner_id);
  save(self);
}

/// A worker process ended: an actor it hosted died, as its exit says.
void worker_exit(cs_ptr self, std::uint64_t worker_id, const process_exit& how) {
  for (auto& exit : self->state.st.actors.worker_exited(worker_id, how))
    died(self, exit.id, exit.why, exit.restartable);
  save(self);
}

/// A dying actor's worker never said how it ended.
void finalize(cs_ptr self, const object_id& id) {
  auto* e = self->state.st.actors.find(id);
  if (e && e->phase == actor_phase::dying)
    died(self, id, "its worker process became unreachable", true);
  save(self);
}

/// The port the head listens on, known once it is published.
void set_port(cs_ptr self, std::uint16_t port) {
  auto& st = self->state.st;
  st.node.port = port;
  st.nodes.find(st.node.node_id)->port = port;
  save(self);
}

/// The head's start: what a restarted head finds of the cluster, then
/// itself as node 1.
void start_head(cs_ptr self) {
  auto& st = self->state.st;
  st.node.control = control_store_actor{self};
  restore_head(self);
  st.node = st.nodes.add(st.node); // the head is node 1
  save(self, true);
  self->set_down_handler([self](caf::down_msg& dm) {
    down(self, dm);
    save(self);
  });
}

/// The record of the actor named `name` in namespace `ns` (an empty one
/// when there is none).
actor_record lookup(cs_ptr self, const std::string& name, const std::string& ns) {
  auto* e = self->state.st.actors.find_by_name(name, ns);
  return e ? e->rec : actor_record{};
}

} // namespace

void head_actor_died(cs_ptr self, const object_id& id, const std::string& why,
                     bool restartable) {
  died(self, id, why, restartable);
}

void head_node_gone(cs_ptr self, std::uint64_t node_id, const std::string& reason) {
  node_gone(self, node_id, reason);
}

control_store_actor::behavior_type head_behavior(cs_ptr self) {
  start_head(self);
  return {
      [self](node_atom, std::uint16_t port) { set_port(self, port); },
      [self](node_atom) -> node_info { return self->state.st.node; },
      [self](join_atom, node_info n) -> caf::result<node_info> {
        return join(self, std::move(n));
      },
      [self](nodes_atom) -> node_list { return self->state.st.nodes.list(); },
      [self](hello_atom, job_spec spec) -> hello_reply { return hello(self, std::move(spec)); },
      [self](status_atom) -> std::string { return self->state.st.describe_json(); },
      [self](stop_atom) -> bool {
        stop_node(self);
        return true;
      },
      [self](register_atom, const actor_record& rec) { return register_actor(self, rec); },
      [self](actor_up_atom, const object_id& id, const executor_actor& instance,
             std::uint64_t worker_id, const endpoint& address, const core_actor& core) {
        actor_up(self, id, instance, worker_id, address, core);
        save(self);
      },
      [self](actor_fail_atom, const object_id& id, const error_info& why,
             std::uint32_t restarts) {
        creation_failed(self, id, why, restarts);
        save(self);
      },
      [self](actor_exit_atom, const object_id& id, std::uint32_t restarts,
             const std::string& why) { light_actor_ended(self, id, restarts, why); },
      [self](creation_atom, const actor_creation& c) {
        self->state.st.actors.keep_creation(c);
        save(self);
      },
      [self](built_atom, const object_id& id, std::uint64_t worker_id, std::uint32_t restarts) {
        creation_built(self, id, worker_id, restarts);
        save(self);
      },
      [self](resolve_atom, const object_id& id, const owner_entry& caller) {
        if (auto n = self->state.st.actors.resolve(id, caller.owner_id))
          self->send(caller.core, actor_atom::value, n->status);
      },
      [self](kill_atom, const object_id& id, bool no_restart, const std::string& why) {
        kill_actor(self, id, no_restart, why);
        save(self);
      },
      [self](lookup_atom, const std::string& name, const std::string& ns) {
        return lookup(self, name, ns);
      },
      [self](worker_exit_atom, std::uint64_t worker_id, const process_exit& how) {
        worker_exit(self, worker_id, how);
      },
      [self](finalize_atom, const object_id& id) { finalize(self, id); },
      [self](register_atom, const owner_entry& owner, std::uint64_t node_id) {
        register_owner(self, owner, node_id);
      },
      [self](owner_atom, std::uint64_t owner_id, const core_actor& caller) {
        self->send(caller, owner_atom::value, self->state.st.objects.entry_of(owner_id));
      },
      [self](owner_atom) -> owner_list { return {self->state.st.objects.cores()}; },
      [self](gone_atom, const caf::actor& who) {
        process_gone(self, who.address());
        save(self);
      },
      [self](nodes_atom, const node_list& l) { set_peers(self, l.nodes); },
      [self](object_atom, const object_location& loc) {
        self->state.st.objects.record_location(loc);
      },
      [self](object_atom, const object_id& id) { return self->state.st.objects.locations_of(id); },
      [](introduce_atom, const owner_list&) {}, // reading them taught CAF the routes
      [self](tick_atom) { head_tick(self); },
      [self](resume_atom, std::uint64_t node_id) { node_resumed(self, node_id); },
      [self](log_atom, std::uint64_t job) { return self->state.st.nodes.output_driver(job); },
      [self](log_atom) { return list_node_logs(self); },
      [self](metrics_atom, std::string& json) { self->state.endpoints = std::move(json); },
      [self](metrics_atom) { return self->state.endpoints; },
      [self](processes_atom) { return node_processes(self); },
      [](log_atom, const std::string& file, std::uint64_t offset, std::uint64_t max) {
        return read_node_log(file, offset, max);
      },
  };
}

} // namespace troupe
