#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "lib/protocol/fwd.hpp"
#include "lib/protocol/core_actor.hpp"

namespace troupe {

/// A node's local scheduler: it owns the node's resources and worker
/// processes and leases workers to submitters (drivers and workers), which
/// then push tasks to them directly. Logic: `scheduler_state`.
///
///     node daemon -> sched : node(node_info)       (its host, port, control
///                                                   store, id and cluster
///                                                   scheduler: start the pools)
///     cluster     -> sched : nodes(alive count)    (spill only with peers)
///                          | reserve(bundle) | release(group)
///     sched -> cluster     : report(resources)     (when they change, and every
///                                                   250 ms: the cluster's guesses
///                                                   about requests that were then
///                                                   cancelled are corrected)
///                          | place(request, node) ==> placement (spill)
///     sched       -> sched : lease(request placed here)  (another node's)
///     control st. -> sched : hello(exe, hash, driver)  (a job's pool; a node
///                            whose file at `exe` differs fetches it by hash
///                            from the driver into its cache first)
///     fetcher     -> sched : exe(exe, runnable path, "") | exe(exe, "", why)
///                          | job_end(exe)            (a job is gone)
///     worker      -> sched : register(worker_hello)
///     submitter   -> sched : lease(lease_request)    ~> granted | denied
///                          | cancel(request, requester) | return(worker)
///     worker      -> sched : blocked(worker) | unblocked(worker)
///     host, submitter -> sched : release(host, resources, n)  (n light-actor
///                            slots of a host lease, each holding `resources`,
///                            are free again: unused, or their actors ended)
///     reaper      -> sched : child(pid, wait status)
///     control st. -> sched : kill(worker)            (an actor is killed)
///                          | gone(core)              (a process died: what it
///                            held here comes back; CAF tells a scheduler of
///                            no process two hops away)
///     sched -> control st. : wkr_exit(worker, why)   (an actor's worker ended)
///     anyone      -> sched : status ==> JSON of local_scheduler_status
///     control st. -> sched : stop ==> true           (kill all workers)
using local_scheduler_actor = caf::typed_actor<
  caf::reacts_to<node_atom, node_info>,
  caf::reacts_to<nodes_atom, std::uint32_t>,
  caf::replies_to<reserve_atom, bundle_reservation>::with<bool>,
  caf::reacts_to<release_atom, std::uint64_t>,
  caf::reacts_to<release_atom, std::uint64_t, resource_map, std::uint32_t>,
  caf::reacts_to<report_atom>,
  caf::reacts_to<tick_atom>,
  caf::reacts_to<kill_atom, std::uint64_t>,
  caf::reacts_to<gone_atom, core_actor>,
  caf::reacts_to<hello_atom, std::string, std::string, core_actor>,
  caf::reacts_to<exe_atom, std::string, std::string, std::string>,
  caf::reacts_to<job_end_atom, std::string>,
  caf::reacts_to<register_atom, worker_hello>,
  caf::reacts_to<lease_atom, lease_request>,
  caf::reacts_to<cancel_atom, std::uint64_t, core_actor>,
  caf::reacts_to<return_atom, std::uint64_t>,
  caf::reacts_to<blocked_atom, std::uint64_t>,
  caf::reacts_to<unblocked_atom, std::uint64_t>,
  caf::reacts_to<child_atom, std::int32_t, std::int32_t>,
  caf::replies_to<status_atom>::with<std::string>,
  caf::replies_to<stop_atom>::with<bool>>;

} // namespace troupe
