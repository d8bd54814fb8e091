#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "lib/src/messages.hpp"

namespace troupe {

/// The control store: the cluster's metadata (its nodes, the jobs, i.e.
/// drivers, the actors and the owners of objects). Every node runs one and
/// publishes it on its port: drivers, workers and the CLI reach everything
/// else through their node's. The head's holds the cluster's state; a member
/// node's answers `node` itself, watches its node's processes (the only
/// reliable watcher: CAF tells nothing of a process two hops away) and
/// passes everything else to the head.
///
///     node daemon -> control : node(port)      (the port it listens on)
///     worker, CLI -> control : node            ==> node_info (of this node)
///     member node -> head    : join(node_info) ==> node_info (its id, the cluster)
///     anyone      -> control : nodes           ==> node_list (every node)
///     driver      -> control : hello(job_spec)  ==> hello_reply (job id)
///     anyone      -> control : status           ==> JSON of nodes, jobs, actors
///     driver, CLI -> control : stop             ==> true (stops this node)
///     creator     -> control : register(actor_record) ==> "" or why not
///                            | actor_up(id, instance, worker id)
///                            | actor_fail(id, error_info)
///     caller      -> control : resolve(id, caller) ~> caller: actor(status),
///                                                   again when it dies
///     anyone      -> control : kill(id)
///                            | lookup(name, namespace) ==> actor_record
///     scheduler   -> control : wkr_exit(worker id, why)
///     any process -> control : register(owner id, core, node id)
///                            | owner(owner id, caller) ~> caller: owner(id, core)
///     CLI         -> control : owner                ==> owner_list (every process)
///     member      -> head    : gone(core or instance)  (a watched process is down)
///     head        -> member  : nodes(node_list)         (after each join)
///     node        -> node    : introduce(owner_list)    (this node's processes)
///     process, store manager -> control : object(object_location)
///                              (a copy of a stored object appeared or went)
///     store manager -> control : object(id) ==> object_locations (every copy)
///
/// Routing: a process is connected only to its node, and node daemons to
/// each other. CAF forwards a message between nodes without reading it, so
/// a node learns a route to a process of another node only by reading a
/// handle of it. Each node therefore introduces its processes (their core
/// actors) to every other node, as they register and when a node joins;
/// then any process reaches any other through the two nodes.
///
/// When a member node stops answering (its connection drops, or the
/// middleman's heartbeat times out), the head marks it dead, settles the
/// actors it hosted, ends its drivers' jobs, and tells every owner
/// `node_down(node, why)`. A member whose head is gone stops.
///
/// Actor states (the record's `phase`):
///
///     pending --(1) actor_up-------------> alive
///     pending --(2) actor_fail-----------> dead (constructor threw)
///     alive ----(3) its instance is down--> dying (cause not known yet)
///     dying ----(4) wkr_exit / kill / 1 s-> dead (cause)
///     any ------(5) its node died---------> dead
///
/// Callers resolving a pending or dying actor are answered when it settles.
/// An embedded node (started by a driver's `init`) stops when its driver's
/// core actor goes down, so a driver killed with SIGKILL leaves nothing; the
/// non-detached actors of any driver die with it.
using control_store_actor = caf::typed_actor<
  caf::reacts_to<node_atom, std::uint16_t>,
  caf::replies_to<node_atom>::with<node_info>,
  caf::replies_to<join_atom, node_info>::with<node_info>,
  caf::replies_to<nodes_atom>::with<node_list>,
  caf::replies_to<hello_atom, job_spec>::with<hello_reply>,
  caf::replies_to<status_atom>::with<std::string>,
  caf::replies_to<stop_atom>::with<bool>,
  caf::replies_to<register_atom, actor_record>::with<std::string>,
  caf::reacts_to<actor_up_atom, object_id, caf::actor, std::uint64_t>,
  caf::reacts_to<actor_fail_atom, object_id, error_info>,
  caf::reacts_to<resolve_atom, object_id, caf::actor>,
  caf::reacts_to<kill_atom, object_id>,
  caf::replies_to<lookup_atom, std::string, std::string>::with<actor_record>,
  caf::reacts_to<worker_exit_atom, std::uint64_t, std::string>,
  caf::reacts_to<finalize_atom, object_id>,
  caf::reacts_to<register_atom, std::uint64_t, caf::actor, std::uint64_t>,
  caf::reacts_to<owner_atom, std::uint64_t, caf::actor>,
  caf::replies_to<owner_atom>::with<owner_list>,
  caf::reacts_to<gone_atom, caf::actor>,
  caf::reacts_to<nodes_atom, node_list>,
  caf::reacts_to<introduce_atom, owner_list>,
  caf::reacts_to<object_atom, object_location>,
  caf::replies_to<object_atom, object_id>::with<object_locations>>;

/// An actor as the control store tracks it.
struct actor_entry {
  enum class phase { pending, alive, dying, dead };
  actor_record rec;
  phase st = phase::pending;
  caf::actor instance;
  std::uint64_t worker_id = 0;
  bool kill_requested = false;
  error_info death;
  std::vector<caf::actor> waiters; ///< callers to tell when it settles
  /// Callers that resolved it: told when it dies. (Calls to an actor are
  /// routed through the node, and CAF 0.17 tells a routed proxy nothing when
  /// the far process dies; the control store sees it directly.)
  std::vector<caf::actor> subscribers;
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
  caf::actor core;           ///< ...from the driver
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
                                        caf::actor head = {});

} // namespace troupe
