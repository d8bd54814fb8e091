// A member node's control store: it answers `node` itself, watches its
// node's processes for the head (CAF tells nothing of a process two hops
// away) and passes everything about the cluster's state to the head.
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/control_store_roles.hpp"
#include "actors/member_head_link.hpp"
#include "lib/protocol/handles.hpp"

namespace troupe {

namespace {

/// Passes a message about the cluster's state to the head (or keeps it
/// while the head is gone).
template <class... Ts>
void tell_head(cs_ptr self, const Ts&... xs) {
  to_head(self, caf::make_message(xs...));
}

/// Watches a process of this node (a core actor or an actor instance) for
/// the head: it is told `gone` when the process is.
template <class Handle>
void watch(cs_ptr self, const Handle& who) {
  if (!who)
    return;
  self->state.watched[who.address()] = handle_cast<caf::actor>(who);
  self->monitor(who);
}

/// This node's daemon asks to join: the head gives the node its id and the
/// cluster scheduler, then the node meets the nodes there are already.
caf::result<node_info> join(cs_ptr self, const node_info& n) {
  auto rp = self->make_response_promise<node_info>();
  self->request(self->state.head_cs, std::chrono::seconds(10), join_atom::value, n)
      .then(
          [self, rp](node_info& joined) mutable {
            auto& node = self->state.st.node;
            node.node_id = joined.node_id;
            node.cluster = joined.cluster;
            node.control = joined.control;
            self->request(self->state.head_cs, std::chrono::seconds(10),
                          nodes_atom::value)
                .then([self](const node_list& l) { set_peers(self, l.nodes); },
                      [](caf::error&) {});
            rp.deliver(joined);
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

/// A driver says hello: passed on, and kept with its job id for a head
/// that comes back.
caf::result<hello_reply> hello(cs_ptr self, job_spec spec) {
  watch(self, spec.core);
  spec.node_id = self->state.st.node.node_id;
  auto keep = [self, spec](const hello_reply& r) {
    auto& kept = self->state.jobs[spec.core.address()] = spec;
    kept.job_id = r.job_id;
  };
  return ask_head_then<hello_reply>(self, keep, hello_atom::value, spec);
}

/// An actor's instance is up here: watched, kept for a head that comes
/// back, and announced.
void actor_up(cs_ptr self, const object_id& id, const executor_actor& instance,
              std::uint64_t worker_id, const endpoint& address, const core_actor& core) {
  watch(self, instance);
  if (instance)
    self->state.instances[instance.address()] = {id, instance, worker_id, address, core};
  tell_head(self, actor_up_atom::value, id, instance, worker_id, address, core);
}

void down(cs_ptr self, const caf::down_msg& dm) {
  auto& s = self->state;
  if (dm.source == s.head_cs.address()) {
    head_lost(self, caf::to_string(dm.reason));
    return;
  }
  forget_process(self, dm.source);
  s.owners.erase(dm.source);
  s.jobs.erase(dm.source);
  s.instances.erase(dm.source);
  if (auto it = s.watched.find(dm.source); it != s.watched.end()) {
    tell_head(self, gone_atom::value, it->second);
    s.watched.erase(it);
  }
}

/// A process of this node registered: watched here, kept for a head that
/// comes back, and told to the head.
void register_owner(cs_ptr self, const owner_entry& owner, std::uint64_t node_id) {
  note_process(self, owner.core, node_id);
  watch(self, owner.core); // its non-detached actors die with it
  if (owner.core)
    self->state.owners[owner.core.address()] = {owner, node_id};
  tell_head(self, register_atom::value, owner, node_id);
}

} // namespace

control_store_actor::behavior_type member_behavior(cs_ptr self) {
  self->monitor(self->state.head_cs);
  self->set_down_handler([self](caf::down_msg& dm) { down(self, dm); });
  return {
      [self](node_atom, std::uint16_t port) { self->state.st.node.port = port; },
      [self](node_atom) -> node_info { return self->state.st.node; },
      [self](join_atom, const node_info& n) -> caf::result<node_info> { return join(self, n); },
      [self](nodes_atom) -> caf::result<node_list> {
        return ask_head<node_list>(self, nodes_atom::value);
      },
      [self](hello_atom, job_spec spec) -> caf::result<hello_reply> {
        return hello(self, std::move(spec));
      },
      [self](status_atom) -> caf::result<std::string> {
        return ask_head<std::string>(self, status_atom::value);
      },
      [self](stop_atom) -> bool {
        stop_node(self);
        return true;
      },
      [self](register_atom, const actor_record& rec) -> caf::result<registration> {
        return ask_head<registration>(self, register_atom::value, rec);
      },
      [self](actor_up_atom, const object_id& id, const executor_actor& instance,
             std::uint64_t worker_id, const endpoint& address, const core_actor& core) {
        actor_up(self, id, instance, worker_id, address, core);
      },
      [self](built_atom, const object_id& id, std::uint64_t worker_id, std::uint32_t restarts) {
        tell_head(self, built_atom::value, id, worker_id, restarts);
      },
      [self](creation_atom, const actor_creation& c) { tell_head(self, creation_atom::value, c); },
      [self](actor_fail_atom, const object_id& id, const error_info& why,
             std::uint32_t restarts) {
        tell_head(self, actor_fail_atom::value, id, why, restarts);
      },
      [self](actor_exit_atom, const object_id& id, std::uint32_t n, const std::string& why) {
        tell_head(self, actor_exit_atom::value, id, n, why); },
      [self](resolve_atom, const object_id& id, const owner_entry& caller) {
        tell_head(self, resolve_atom::value, id, caller);
      },
      [self](kill_atom, const object_id& id, bool no_restart, const std::string& why) {
        tell_head(self, kill_atom::value, id, no_restart, why);
      },
      [self](lookup_atom, const std::string& name,
             const std::string& ns) -> caf::result<actor_record> {
        return ask_head<actor_record>(self, lookup_atom::value, name, ns);
      },
      [self](worker_exit_atom, std::uint64_t worker_id, const process_exit& how) {
        tell_head(self, worker_exit_atom::value, worker_id, how);
      },
      [](finalize_atom, const object_id&) {}, // only the head settles actors
      [self](register_atom, const owner_entry& o, std::uint64_t n) { register_owner(self, o, n); },
      [self](owner_atom, std::uint64_t owner_id, const core_actor& caller) {
        tell_head(self, owner_atom::value, owner_id, caller);
      },
      [self](owner_atom) -> caf::result<owner_list> {
        return ask_head<owner_list>(self, owner_atom::value);
      },
      [](gone_atom, const caf::actor&) {}, // only the head is told of processes gone
      [self](nodes_atom, const node_list& l) { set_peers(self, l.nodes); },
      [self](object_atom, const object_location& loc) { tell_head(self, object_atom::value, loc); },
      [self](object_atom, const object_id& id) -> caf::result<object_locations> {
        return ask_head<object_locations>(self, object_atom::value, id);
      },
      [](introduce_atom, const owner_list&) {}, // reading them taught CAF the routes
      [self](tick_atom) { member_tick(self); },
      [](resume_atom, std::uint64_t) {}, // only the head takes nodes back
      [self](log_atom, std::uint64_t job) {
        return ask_head<core_actor>(self, log_atom::value, job);
      },
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
