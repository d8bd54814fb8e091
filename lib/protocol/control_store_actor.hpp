#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "lib/protocol/fwd.hpp"
#include "lib/protocol/core_actor.hpp"
#include "lib/protocol/executor_actor.hpp"

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
///     anyone      -> control : status           ==> JSON of control_store_status
///     driver, CLI -> control : stop             ==> true (stops this node)
///     creator     -> control : register(actor_record) ==> registration
///                            | actor_up(id, instance, worker id, endpoint, worker's core)
///                            | actor_fail(id, error_info, restarts) (a build
///                            failed; one not the latest is stale)
///                            | built(id, worker id, restarts) (its creation
///                            finished there: its worker's or node's death
///                            is its death, even before actor_up arrives)
///                            | creation(actor_creation) (once, with the first
///                            creation of an actor that may restart, when all
///                            its arguments are inline: the head rebuilds it
///                            from this when its creator is gone)
///     caller      -> control : resolve(id, owner_entry of the caller)
///                                ~> caller: actor(status), again when it dies
///     anyone      -> control : kill(id, no_restart, why)  (why: the death
///                            it is given, "killed by troupe::kill")
///                            | lookup(name, namespace) ==> actor_record
///     scheduler   -> control : wkr_exit(worker id, process_exit)
///     any process -> control : register(owner_entry{owner id, core, endpoint}, node id)
///                            | owner(owner id, caller) ~> caller: owner(owner_entry)
///     CLI         -> control : owner                ==> owner_list (every process)
///     member      -> head    : gone(core or instance)  (a watched process is down: a
///                                                core or an actor instance, so untyped)
///     head        -> member  : nodes(node_list)         (after each join)
///     node        -> node    : introduce(owner_list)    (this node's processes)
///     process, store manager -> control : object(object_location)
///                              (a copy of a stored object appeared or went)
///     store manager -> control : object(id) ==> object_locations (every copy)
///     worker      -> control : log(job id) ==> core_actor (the driver its tasks'
///                              output goes to; none when the job ended or
///                              its driver turned log_to_driver off)
///     CLI, head   -> control : log          ==> JSON of this node's log files
///                                              (node_logs.hpp)
///                            | log(file, offset, max bytes) ==> those bytes
///     node daemon -> control : metrics(endpoints JSON) (its HTTP servers:
///                              `{"metrics": "HOST:PORT", "dashboard": ...}`)
///     CLI         -> control : metrics ==> that JSON
///     metrics server -> control : processes ==> owner_list (this node's
///                              drivers and workers)
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
/// `node_down(node, why)`.
///
/// Head restarts. A head with a state store (head_records.hpp) writes the
/// nodes, jobs and actors there, and a restarted head loads them. A member
/// whose head is gone keeps running what it has: it tells its processes the
/// head's node is down (their tasks there are retried), keeps what it would
/// send the head and the requests it would pass on, and tries to reach a
/// head at the same address every second (`tick`). When one answers it joins
/// again under its old id and tells it all it knows, then sends what it
/// kept:
///
///     member -> new head : join(node_info with its id)
///                        | register(owner_entry, node) per process
///                        | hello(job_spec with its job id) per driver
///                        | actor_up(...) per living actor instance
///                        | resume(node id)  (that was all: the head's restored
///                                            actors of that node it did not
///                                            hear of died meanwhile)
///     head, member -> self : tick   (head: write what changed, give up what
///                                    did not come back within the grace
///                                    period; member: try the head again)
///
/// A member whose head does not come back within the grace period (60 s by
/// default) fails what waits with head_unavailable and stops.
///
/// Actor states (the entry's `phase`; the head's actor_directory decides):
///
///     pending --(1) actor_up-------------> alive
///     pending --(2) actor_fail-----------> dead (constructor threw)
///     alive ----(3) its instance is down--> dying (cause not known yet)
///     dying ----(4) wkr_exit / kill / 1 s-> dead (cause)
///     any ------(5) its node died---------> dead
///     dying, alive -(6) crashed, node died,
///                   killed to restart, with
///                   restarts left, creator
///                   alive or its creation
///                   kept -------------------> restarting
///                                  ~> creator: restart(id, restarts so far),
///                                     or, the creator gone, the head's
///                                     actor_rebuilder runs the creation
///     restarting -(7) actor_up -----------> alive (the new instance)
///     restarting -(8) actor_fail: threw --> dead; a crash --> (6) again
///
/// Callers that knew it alive are told it is restarting; calls wait for it.
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
  caf::replies_to<register_atom, actor_record>::with<registration>,
  caf::reacts_to<actor_up_atom, object_id, executor_actor, std::uint64_t, endpoint, core_actor>,
  caf::reacts_to<built_atom, object_id, std::uint64_t, std::uint32_t>,
  caf::reacts_to<creation_atom, actor_creation>,
  caf::reacts_to<actor_fail_atom, object_id, error_info, std::uint32_t>,
  caf::reacts_to<actor_exit_atom, object_id, std::uint32_t, std::string>,
  caf::reacts_to<resolve_atom, object_id, owner_entry>,
  caf::reacts_to<kill_atom, object_id, bool, std::string>,
  caf::replies_to<lookup_atom, std::string, std::string>::with<actor_record>,
  caf::reacts_to<worker_exit_atom, std::uint64_t, process_exit>,
  caf::reacts_to<finalize_atom, object_id>,
  caf::reacts_to<register_atom, owner_entry, std::uint64_t>,
  caf::reacts_to<owner_atom, std::uint64_t, core_actor>,
  caf::replies_to<owner_atom>::with<owner_list>,
  caf::reacts_to<gone_atom, caf::actor>,
  caf::reacts_to<nodes_atom, node_list>,
  caf::reacts_to<introduce_atom, owner_list>,
  caf::reacts_to<tick_atom>,
  caf::reacts_to<resume_atom, std::uint64_t>,
  caf::reacts_to<object_atom, object_location>,
  caf::replies_to<object_atom, object_id>::with<object_locations>,
  caf::replies_to<log_atom, std::uint64_t>::with<core_actor>,
  caf::replies_to<log_atom>::with<std::string>,
  caf::replies_to<log_atom, std::string, std::uint64_t, std::uint64_t>::with<std::string>,
  caf::reacts_to<metrics_atom, std::string>,
  caf::replies_to<metrics_atom>::with<std::string>,
  caf::replies_to<processes_atom>::with<owner_list>>;

} // namespace troupe
