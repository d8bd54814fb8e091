#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "lib/protocol/messages.hpp"

namespace troupe {

/// An actor as the control store tracks it.
struct actor_entry {
  enum class phase { pending, alive, dying, dead };
  actor_record rec;
  phase st = phase::pending;
  executor_actor instance;
  std::uint64_t worker_id = 0;
  bool kill_requested = false;
  error_info death;
  std::vector<core_actor> waiters; ///< callers to tell when it settles
  /// Callers that resolved it: told when it dies. (Calls to an actor are
  /// routed through the node, and CAF 0.17 tells a routed proxy nothing when
  /// the far process dies; the control store sees it directly.)
  std::vector<core_actor> subscribers;
};

/// A connected driver, as the control store records it.
struct job_record {
  std::uint64_t id = 0;
  std::int32_t pid = 0;
  std::string exe;
  bool embedded = false;
  bool alive = true;
  std::uint64_t node_id = 0; ///< where the driver runs
  std::string exe_hash;      ///< nodes fetch the executable by it...
  core_actor core;           ///< ...from the driver
};

/// The control store's logic, driven by tests without a network.
struct control_store_state {
  node_info node;  ///< this node
  std::map<std::uint64_t, node_info> nodes; ///< every node (head only)
  std::map<std::uint64_t, job_record> jobs;
  std::uint64_t next_job = 1;

  /// Records a node that joins; returns it with its id.
  node_info add_node(node_info n);
  /// Marks the node dead; returns the actors that lived on it (settle them).
  /// Its objects' copies are forgotten.
  std::vector<object_id> node_died(std::uint64_t node_id);

  /// The object directory: the stores holding a copy of each large object,
  /// node -> (offset, size).
  std::map<object_id, std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>>>
    locations;
  void record_location(const object_location& loc);
  object_locations locations_of(const object_id& id) const;

  /// Registers a driver; returns its job id.
  std::uint64_t add_job(const job_spec& spec);
  /// Marks the job whose driver had pid `pid` as ended; returns whether the
  /// node should stop (it was the embedded driver).
  bool job_ended(std::uint64_t job_id);
  /// Returns the JSON status object: nodes, jobs and actors (resources are
  /// the cluster scheduler's, objects the store managers').
  std::string describe_json() const;

  std::map<object_id, actor_entry> actors;
  std::map<std::pair<std::string, std::string>, object_id> names; ///< (ns, name)

  /// Records a new actor; returns "" or why it cannot be (its name is taken).
  std::string register_actor(const actor_record& rec);
  /// Returns the actor's entry, or nullptr.
  actor_entry* find(const object_id& id);
  /// Returns the living (pending or alive) actor named `name`, or nullptr.
  const actor_entry* find_by_name(const std::string& name, const std::string& ns) const;
  /// Settles the actor as dead with `why`; returns its entry (whose waiters
  /// are to be answered), or nullptr if it was dead or unknown.
  actor_entry* settle_dead(const object_id& id, const std::string& why);
  /// Returns what callers are told about the actor.
  static actor_status status_of(const object_id& id, const actor_entry* e);
};

/// Spawns the control store of `node`: the head's when `head` is nullptr,
/// else a member's that passes cluster state to the head's control store.
control_store_actor spawn_control_store(caf::actor_system& sys, node_info node,
                                        control_store_actor head = {});

} // namespace troupe
