#pragma once

// Atoms and message types of troupe's system actors. Every type that crosses
// a process is registered in `register_message_types` (message_types.cpp).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "troupe/errors.hpp"
#include "troupe/object_id.hpp"

namespace caf {
class actor_system_config;
} // namespace caf

namespace troupe {

using hello_atom = caf::atom_constant<caf::atom("hello")>;
using node_atom = caf::atom_constant<caf::atom("node")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using lease_atom = caf::atom_constant<caf::atom("lease")>;
using return_atom = caf::atom_constant<caf::atom("return")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using blocked_atom = caf::atom_constant<caf::atom("blocked")>;
using unblocked_atom = caf::atom_constant<caf::atom("unblocked")>;
using child_atom = caf::atom_constant<caf::atom("child")>;
using granted_atom = caf::atom_constant<caf::atom("granted")>;
using denied_atom = caf::atom_constant<caf::atom("denied")>;
using worker_died_atom = caf::atom_constant<caf::atom("wkr_died")>;
using push_atom = caf::atom_constant<caf::atom("push")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using object_atom = caf::atom_constant<caf::atom("object")>;
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using job_end_atom = caf::atom_constant<caf::atom("job_end")>;
using actor_up_atom = caf::atom_constant<caf::atom("actor_up")>;
using actor_fail_atom = caf::atom_constant<caf::atom("actor_fail")>;
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
using actor_atom = caf::atom_constant<caf::atom("actor")>;
using kill_atom = caf::atom_constant<caf::atom("kill")>;
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;
using worker_exit_atom = caf::atom_constant<caf::atom("wkr_exit")>;
using finalize_atom = caf::atom_constant<caf::atom("finalize")>;
using forward_atom = caf::atom_constant<caf::atom("forward")>;
using owner_atom = caf::atom_constant<caf::atom("owner")>;

/// Resource name -> amount, e.g. {"CPU": 1, "GPU": 0.5}.
using resource_map = std::map<std::string, double>;

template <class I>
typename I::result_type inspect(I& f, object_id& x) {
  return f(caf::meta::type_name("troupe.object_id"), x.owner, x.seq);
}

/// Why something failed, as it crosses processes; `rethrow` turns it back
/// into the exception of its kind.
struct error_info {
  error_kind kind = error_kind::runtime;
  std::string task_name;
  std::string exception_type;
  std::string message;

  [[noreturn]] void rethrow() const;
  /// Returns the info of a caught troupe exception.
  static error_info from(const troupe::error& e);
};

template <class I>
typename I::result_type inspect(I& f, error_info& x) {
  return f(caf::meta::type_name("troupe.error_info"), x.kind, x.task_name,
           x.exception_type, x.message);
}

/// A driver's introduction to a node.
struct job_spec {
  std::string exe;   ///< executable its workers run
  std::int32_t pid = 0;
  bool embedded = false; ///< the node lives and dies with this driver
  caf::actor core;   ///< the driver's core actor
};

template <class I>
typename I::result_type inspect(I& f, job_spec& x) {
  return f(caf::meta::type_name("troupe.job_spec"), x.exe, x.pid, x.embedded,
           x.core);
}

/// What a client needs to know of its node.
struct node_info {
  std::uint64_t node_id = 0;
  std::string host;
  std::uint16_t port = 0;
  caf::actor scheduler;      ///< the node's local scheduler
  caf::actor store_manager;  ///< the node's object-store manager
  std::string segment;       ///< name of the shared-memory store segment
  std::uint64_t store_capacity = 0;
  resource_map total;        ///< the node's resources
};

template <class I>
typename I::result_type inspect(I& f, node_info& x) {
  return f(caf::meta::type_name("troupe.node_info"), x.node_id, x.host, x.port,
           x.scheduler, x.store_manager, x.segment, x.store_capacity, x.total);
}

struct hello_reply {
  std::uint64_t job_id = 0;
  node_info node;
};

template <class I>
typename I::result_type inspect(I& f, hello_reply& x) {
  return f(caf::meta::type_name("troupe.hello_reply"), x.job_id, x.node);
}

/// A worker process announcing itself to its node's scheduler.
struct worker_hello {
  std::uint64_t worker_id = 0;
  std::int32_t pid = 0;
  caf::actor executor;
  caf::actor core;
};

template <class I>
typename I::result_type inspect(I& f, worker_hello& x) {
  return f(caf::meta::type_name("troupe.worker_hello"), x.worker_id, x.pid,
           x.executor, x.core);
}

/// A submitter asking for a worker with `resources` to push tasks to.
struct lease_request {
  std::uint64_t request_id = 0;
  std::string exe;
  resource_map resources;
  std::string task_name; ///< first task waiting for it, for error messages
  caf::actor requester;  ///< receives `granted` / `denied`
  bool dedicated = false; ///< for an actor: the worker is never returned
};

template <class I>
typename I::result_type inspect(I& f, lease_request& x) {
  return f(caf::meta::type_name("troupe.lease_request"), x.request_id, x.exe,
           x.resources, x.task_name, x.requester, x.dedicated);
}

/// An actor as the control store records it.
struct actor_record {
  object_id id;
  std::string class_name;
  std::string name;       ///< the `name` option ("" for unnamed actors)
  std::string name_space;
  bool detached = false;
  caf::actor owner;       ///< the creating process's core actor
};

template <class I>
typename I::result_type inspect(I& f, actor_record& x) {
  return f(caf::meta::type_name("troupe.actor_record"), x.id, x.class_name, x.name,
           x.name_space, x.detached, x.owner);
}

/// Where an actor is, or why it is gone, as the control store tells callers.
struct actor_status {
  object_id id;
  bool alive = false;
  caf::actor instance; ///< receives the method calls (when alive)
  error_info death;    ///< why it died (when not alive)
};

template <class I>
typename I::result_type inspect(I& f, actor_status& x) {
  return f(caf::meta::type_name("troupe.actor_status"), x.id, x.alive, x.instance,
           x.death);
}

struct lease_grant {
  std::uint64_t request_id = 0;
  std::uint64_t worker_id = 0;
  std::int32_t pid = 0;
  caf::actor executor;
};

template <class I>
typename I::result_type inspect(I& f, lease_grant& x) {
  return f(caf::meta::type_name("troupe.lease_grant"), x.request_id,
           x.worker_id, x.pid, x.executor);
}

/// An owner's answer to a borrower's `fetch`.
struct object_reply {
  object_id id;
  bool failed = false;
  error_info error;
  std::uint8_t enc = 0;
  std::uint64_t type_hash = 0;
  std::string type_name;
  bool in_store = false;
  std::vector<char> data;       ///< the value, when not in the store
  std::uint64_t offset = 0;     ///< the value's place, when in the store
  std::uint64_t size = 0;
};

template <class I>
typename I::result_type inspect(I& f, object_reply& x) {
  return f(caf::meta::type_name("troupe.object_reply"), x.id, x.failed,
           x.error, x.enc, x.type_hash, x.type_name, x.in_store, x.data,
           x.offset, x.size);
}

/// Registers every type above with the actor system; every process calls it.
void register_message_types(caf::actor_system_config& cfg);

} // namespace troupe
