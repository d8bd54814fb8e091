#pragma once

// The message types of troupe's system actors. Every type that crosses a
// process is registered in `register_message_types` (message_types.cpp).
// Handles travel typed: each is the interface (lib/protocol/*_actor.hpp) of
// the actor it names.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

#include "lib/protocol/atoms.hpp"
#include "lib/protocol/cluster_scheduler_actor.hpp"
#include "lib/protocol/control_store_actor.hpp"
#include "lib/protocol/core_actor.hpp"
#include "lib/protocol/executor_actor.hpp"
#include "lib/protocol/fwd.hpp"
#include "lib/protocol/job_manager_actor.hpp"
#include "lib/protocol/job_messages.hpp"
#include "lib/protocol/light_calls.hpp"
#include "lib/protocol/local_scheduler_actor.hpp"
#include "lib/protocol/log_messages.hpp"
#include "lib/protocol/store_manager_actor.hpp"
#include "lib/protocol/stored_value.hpp"

#include "troupe/encoding.hpp"
#include "troupe/errors.hpp"
#include "troupe/object_id.hpp"
#include "troupe/scheduling.hpp"

namespace caf {
class actor_system_config;
} // namespace caf

namespace troupe {

/// Returns the node of a worker: worker ids are `node << 32 | n`.
constexpr std::uint64_t node_of_worker(std::uint64_t worker_id) noexcept {
  return worker_id >> 32;
}

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

/// Where a process listens for direct connections from its peers (drivers
/// and workers each open one port; port 0: it has none, so messages to it go
/// through the node daemons).
struct endpoint {
  std::string host;
  std::uint16_t port = 0;
};

template <class I>
typename I::result_type inspect(I& f, endpoint& x) {
  return f(caf::meta::type_name("troupe.endpoint"), x.host, x.port);
}

/// A driver's introduction to a node.
struct job_spec {
  std::string exe;   ///< executable its workers run
  std::int32_t pid = 0;
  bool embedded = false; ///< the node lives and dies with this driver
  core_actor core;   ///< the driver's core actor
  std::uint64_t node_id = 0; ///< the driver's node
  /// SHA-256 of the executable: a node whose file at `exe` differs (or is
  /// missing) fetches it from `core`. Empty for an embedded driver.
  std::string exe_hash;
  /// A job that resumes after the head restarted: its id (0: a new job).
  std::uint64_t job_id = 0;
  /// Its tasks' and actors' output goes to the driver's terminal too
  /// (`init_options::log_to_driver`).
  bool log_to_driver = true;
};

template <class I>
typename I::result_type inspect(I& f, job_spec& x) {
  return f(caf::meta::type_name("troupe.job_spec"), x.exe, x.pid, x.embedded,
           x.core, x.node_id, x.exe_hash, x.job_id, x.log_to_driver);
}

/// What a client needs to know of its node, and the control store of each
/// node of the cluster.
struct node_info {
  std::uint64_t node_id = 0; ///< 1 for the head, then in order of joining
  std::string host;
  std::uint16_t port = 0;
  local_scheduler_actor scheduler;    ///< the node's local scheduler
  store_manager_actor store_manager;  ///< the node's object-store manager
  control_store_actor control;  ///< the node's control store (the head's is global)
  cluster_scheduler_actor cluster; ///< the cluster scheduler (on the head)
  job_manager_actor jobs; ///< the head's job manager (the head's own info only)
  std::string segment;       ///< name of the shared-memory store segment
  std::uint64_t store_capacity = 0;
  resource_map total;        ///< the node's resources
  bool alive = true;
};

template <class I>
typename I::result_type inspect(I& f, node_info& x) {
  return f(caf::meta::type_name("troupe.node_info"), x.node_id, x.host, x.port,
           x.scheduler, x.store_manager, x.control, x.cluster, x.jobs, x.segment,
           x.store_capacity, x.total, x.alive);
}

/// The cluster's nodes, as the head's control store lists them.
struct node_list {
  std::vector<node_info> nodes;
};

template <class I>
typename I::result_type inspect(I& f, node_list& x) {
  return f(caf::meta::type_name("troupe.node_list"), x.nodes);
}

/// The core actors of every process that owns objects (drivers and
/// workers), for `troupe list tasks|objects`.
struct owner_list {
  std::vector<core_actor> cores;
};

template <class I>
typename I::result_type inspect(I& f, owner_list& x) {
  return f(caf::meta::type_name("troupe.owner_list"), x.cores);
}

/// A node's resources as its local scheduler reports them to the cluster
/// scheduler (whenever they change, at most every few milliseconds).
struct resource_report {
  std::uint64_t node_id = 0;
  resource_map total;
  resource_map available;
  std::uint32_t queued = 0; ///< lease requests waiting for resources
};

template <class I>
typename I::result_type inspect(I& f, resource_report& x) {
  return f(caf::meta::type_name("troupe.resource_report"), x.node_id, x.total,
           x.available, x.queued);
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
  executor_actor executor;
  core_actor core;
  endpoint address; ///< where the worker takes direct connections
};

template <class I>
typename I::result_type inspect(I& f, worker_hello& x) {
  return f(caf::meta::type_name("troupe.worker_hello"), x.worker_id, x.pid,
           x.executor, x.core, x.address);
}

template <class I>
typename I::result_type inspect(I& f, scheduling_strategy& x) {
  return f(caf::meta::type_name("troupe.scheduling_strategy"), x.type, x.node, x.soft,
           x.group, x.bundle);
}

/// A submitter asking for a worker with `resources` to push tasks to.
struct lease_request {
  std::uint64_t request_id = 0;
  std::string exe;
  resource_map resources;
  std::string task_name; ///< first task waiting for it, for error messages
  core_actor requester;  ///< receives `granted` / `denied`
  bool dedicated = false; ///< for an actor: the worker is never returned
  /// For light actors: `count` slots of `resources` each, all on one
  /// actor-host worker (the grant says how many it got).
  bool host = false;
  std::uint32_t count = 1;
  scheduling_strategy strategy;
  /// The node holding most of the task's argument bytes (0: none).
  std::uint64_t locality_node = 0;
  /// Set by the cluster scheduler: the receiving node serves it, or denies.
  bool placed = false;
};

template <class I>
typename I::result_type inspect(I& f, lease_request& x) {
  return f(caf::meta::type_name("troupe.lease_request"), x.request_id, x.exe,
           x.resources, x.task_name, x.requester, x.dedicated, x.host, x.count,
           x.strategy, x.locality_node, x.placed);
}

/// The cluster scheduler's answer to `place`: a node, or why none.
struct placement {
  std::uint64_t node_id = 0; ///< 0: none
  local_scheduler_actor scheduler; ///< that node's local scheduler
  std::string why;           ///< when none: no node can ever serve it
};

template <class I>
typename I::result_type inspect(I& f, placement& x) {
  return f(caf::meta::type_name("troupe.placement"), x.node_id, x.scheduler, x.why);
}

/// A placement group: what is asked for, and where it stands.
struct group_spec {
  std::uint64_t id = 0;
  std::vector<resource_map> bundles;
  placement_strategy strategy = placement_strategy::pack;
};

template <class I>
typename I::result_type inspect(I& f, group_spec& x) {
  return f(caf::meta::type_name("troupe.group_spec"), x.id, x.bundles, x.strategy);
}

struct group_state {
  enum : std::uint8_t { pending = 0, placed = 1, infeasible = 2, removed = 3 };
  std::uint64_t id = 0;
  std::uint8_t state = pending;
  std::vector<std::uint64_t> nodes; ///< node of each bundle, once placed
  std::string why;                  ///< when infeasible
};

template <class I>
typename I::result_type inspect(I& f, group_state& x) {
  return f(caf::meta::type_name("troupe.group_state"), x.id, x.state, x.nodes, x.why);
}

/// A bundle of a placement group, reserved on one node's scheduler.
struct bundle_reservation {
  std::uint64_t group = 0;
  std::int32_t index = 0;
  resource_map resources;
};

template <class I>
typename I::result_type inspect(I& f, bundle_reservation& x) {
  return f(caf::meta::type_name("troupe.bundle_reservation"), x.group, x.index,
           x.resources);
}

/// A stored object as a store manager describes it to a puller.
struct object_meta {
  bool found = false;
  std::string why; ///< when not found
  std::uint64_t size = 0;
  std::uint64_t type_hash = 0;
  std::string type_name;
  encoding enc = encoding::caf_binary;
};

template <class I>
typename I::result_type inspect(I& f, object_meta& x) {
  return f(caf::meta::type_name("troupe.object_meta"), x.found, x.why, x.size,
           x.type_hash, x.type_name, x.enc);
}

/// A copy of an object in some node's store appeared (`present`) or went:
/// what the control store's object directory is told.
struct object_location {
  object_id id;
  std::uint64_t node = 0;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  bool present = true;
};

template <class I>
typename I::result_type inspect(I& f, object_location& x) {
  return f(caf::meta::type_name("troupe.object_location"), x.id, x.node, x.offset, x.size,
           x.present);
}

/// Every node's store that holds a copy of an object, and where.
struct object_locations {
  object_id id;
  std::uint64_t size = 0;
  std::vector<std::uint64_t> nodes;
  std::vector<std::uint64_t> offsets; ///< in the store of `nodes[i]`
};

template <class I>
typename I::result_type inspect(I& f, object_locations& x) {
  return f(caf::meta::type_name("troupe.object_locations"), x.id, x.size, x.nodes,
           x.offsets);
}

/// Where an object lives in some node's store, for a pull to this node.
struct pull_request {
  object_id id;
  std::uint64_t node_id = 0;  ///< the node holding it
  std::uint64_t offset = 0;   ///< its place in that node's store
};

template <class I>
typename I::result_type inspect(I& f, pull_request& x) {
  return f(caf::meta::type_name("troupe.pull_request"), x.id, x.node_id, x.offset);
}

/// An actor as the control store records it.
struct actor_record {
  object_id id;
  std::string class_name;
  std::string name;       ///< the `name` option ("" for unnamed actors)
  std::string name_space;
  bool detached = false;
  core_actor owner;       ///< the creating process's core actor
  std::int32_t max_restarts = 0;     ///< rebuilds after a crash (-1: no limit)
  std::int32_t max_task_retries = 0; ///< resends of calls lost with an instance
  bool shared = false; ///< a light actor: one of many in an actor-host worker
};

template <class I>
typename I::result_type inspect(I& f, actor_record& x) {
  return f(caf::meta::type_name("troupe.actor_record"), x.id, x.class_name, x.name,
           x.name_space, x.detached, x.owner, x.max_restarts, x.max_task_retries,
           x.shared);
}

/// What it takes to build an actor again without its creator (a detached
/// actor whose creator is gone): its creation task as the creator pushed it
/// (a TaskBatch of one TaskSpec, every argument inline), and the lease it
/// ran in. The creator hands it to the control store once, with the first
/// creation; the head keeps it with the actor, on disk too.
struct actor_creation {
  object_id id;
  std::vector<char> spec;
  std::string exe;
  resource_map resources;
  scheduling_strategy strategy;

  bool empty() const noexcept { return spec.empty(); }
};

template <class I>
typename I::result_type inspect(I& f, actor_creation& x) {
  return f(caf::meta::type_name("troupe.actor_creation"), x.id, x.spec, x.exe, x.resources,
           x.strategy);
}

/// Where an actor is, or why it is gone, as the control store tells callers.
struct actor_status {
  object_id id;
  bool alive = false;
  executor_actor instance; ///< receives the method calls (when alive)
  error_info death;    ///< why it died (when not alive)
  endpoint address;    ///< where the instance's process takes connections
  /// Not alive, but being rebuilt (`death` says why it died): calls wait
  /// for the new instance.
  bool restarting = false;
  std::int32_t max_task_retries = 0; ///< how often a lost call is sent again
  core_actor worker_core; ///< the instance's process's core (hears cancels)
  /// A light actor: its calls go through `worker_core`, with those of the
  /// other light actors of its host (light_calls).
  bool shared = false;
};

template <class I>
typename I::result_type inspect(I& f, actor_status& x) {
  return f(caf::meta::type_name("troupe.actor_status"), x.id, x.alive, x.instance,
           x.death, x.address, x.restarting, x.max_task_retries, x.worker_core, x.shared);
}

struct lease_grant {
  std::uint64_t request_id = 0;
  std::uint64_t worker_id = 0;
  std::int32_t pid = 0;
  executor_actor executor;
  std::uint64_t node_id = 0; ///< the worker's node
  local_scheduler_actor scheduler; ///< where the lease is returned
  endpoint address; ///< where the worker takes direct connections
  core_actor core;  ///< the worker's core actor (hears cancels)
  /// A host lease: light actors it may create there (their resources are
  /// held from now on; an unused slot is given back with `release`).
  std::uint32_t slots = 1;
};

template <class I>
typename I::result_type inspect(I& f, lease_grant& x) {
  return f(caf::meta::type_name("troupe.lease_grant"), x.request_id,
           x.worker_id, x.pid, x.executor, x.node_id, x.scheduler, x.address, x.core,
           x.slots);
}

/// An owner's answer to a borrower's `fetch`.
struct object_reply {
  object_id id;
  bool failed = false;
  error_info error;               ///< why, when failed
  detail::object_descriptor value; ///< what it is and where, when not failed
  std::vector<char> data;         ///< its bytes, when not in a store
};

template <class I>
typename I::result_type inspect(I& f, object_reply& x) {
  return f(caf::meta::type_name("troupe.object_reply"), x.id, x.failed, x.error, x.value,
           x.data);
}

/// A borrower asking an object's owner for its value; the owner answers
/// `object(object_reply)` once the value is ready or failed.
struct fetch_request {
  object_id id;
  core_actor borrower;
};

template <class I>
typename I::result_type inspect(I& f, fetch_request& x) {
  return f(caf::meta::type_name("troupe.fetch_request"), x.id, x.borrower);
}

/// An async actor method returned `object`: its process sends the value to
/// the caller as the result of `task` once it is ready.
struct forward_request {
  std::uint64_t task = 0;
  object_id object;
  core_actor caller;
};

template <class I>
typename I::result_type inspect(I& f, forward_request& x) {
  return f(caf::meta::type_name("troupe.forward_request"), x.task, x.object, x.caller);
}

/// A process that owns objects: its owner id (the `owner` of its object ids)
/// and its core actor.
struct owner_entry {
  std::uint64_t owner_id = 0;
  core_actor core;
  endpoint address; ///< where the owner takes direct connections
};

template <class I>
typename I::result_type inspect(I& f, owner_entry& x) {
  return f(caf::meta::type_name("troupe.owner_entry"), x.owner_id, x.core, x.address);
}

/// How a process ended, as its parent saw it: decisions read the wait
/// status, people read the description.
struct process_exit {
  std::int32_t wait_status = 0; ///< from waitpid
  std::string description;      ///< e.g. "killed by signal 9 (SIGKILL)"

  /// Returns whether it exited by itself with status 0.
  [[nodiscard]] bool clean() const noexcept;
};

template <class I>
typename I::result_type inspect(I& f, process_exit& x) {
  return f(caf::meta::type_name("troupe.process_exit"), x.wait_status, x.description);
}

/// The control store's answer to an actor's registration.
struct registration {
  bool accepted = true;
  error_info refusal; ///< why not (e.g. name_taken), when not accepted
};

template <class I>
typename I::result_type inspect(I& f, registration& x) {
  return f(caf::meta::type_name("troupe.registration"), x.accepted, x.refusal);
}

/// Registers every type above with the actor system; every process calls it.
void register_message_types(caf::actor_system_config& cfg);

} // namespace troupe
