#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/typed_actor.hpp>

#include "lib/protocol/fwd.hpp"

namespace troupe {

/// The core actor of every driver and worker process: it owns the objects
/// that the process's tasks return, submits those tasks to leased workers,
/// and answers other processes that hold refs to its objects.
///
///     user thread  -> core : submit                 (drain the task queue)
///     scheduler    -> core : granted(lease_grant)    (a worker is ours)
///                          | denied(request, why)    (request never fits)
///                          | worker_died(id, why)    (its tasks failed)
///     executor     -> core : done(ResultBatch bytes)
///     host outbox  -> core : done(ResultBatches back to back: results of
///                            light actors of one host, result_outbox.hpp)
///     submitter    -> host core : push(light_calls) (calls of light actors
///                            of this process: each batch is forwarded to
///                            its actor, the submitter as its sender)
///     stream actor -> core : done(ResultBatch of streamed items; sent as the
///                            producer's stream_actor, which hears our acks)
///     user thread  -> core : fetch(id)              (get a borrowed ref)
///     borrower     -> core : fetch(fetch_request{id, borrower})
///                            ~> borrower: object(object_reply) once ready
///     owner        -> core : object(object_reply)
///     core         -> core : tick                   (return idle leases)
///                          | flush                  (send light actors' calls
///                            held back while more were coming)
///     control st.  -> core : actor(actor_status)    (where an actor is)
///     user thread  -> core : kill(id, name)         (calls from here fail now)
///     user thread  -> core : cancel(ref, force, recursive) ==> why not ("": done)
///     user thread, borrower -> core : rebuild(id) ==> why not ("": under way)
///                            (the only copy of a stored object is lost: its
///                            owner runs the task that made it again; a
///                            borrower's core asks the owner's)
///     submitter    -> core : cancel(task id, recursive, force) (of a worker:
///                            a task it runs, or will, is cancelled)
///     control st.  -> core : restart(actor id, restarts) (an actor this
///                            process created died: build it again)
///     control st.  -> core : owner(owner_entry{owner id, core})  (who owns refs we got)
///     executor     -> core : forward(forward_request{task, object, caller}) (an async method's
///                            result: send the object's value when ready)
///     CLI          -> core : status ==> JSON of process_status
///     scheduler    -> core : exe ==> size | exe(start, length) ==> bytes
///                            (a node fetches this process's executable)
///     control st.  -> core : node_down(node, why)   (its leases' tasks fail,
///                            awaited objects of owners there fail)
///     metrics server -> core : metrics ==> MetricFamilies bytes (this
///                            process's metrics, metrics.capnp)
///     worker       -> driver core : log(log_batch)  (what a task of this
///                            driver's job wrote: printed with its prefix)
///   Reference counting (lib/core/borrowing.hpp):
///     object table -> core : borrow(id, borrower)   (register this process,
///                            or a null borrower's, with the owner of id)
///                          | unborrow(id, owner, n) (drop n registrations)
///     borrower     -> owner core : borrow(id, borrower, n) ==> held (false:
///                            id is no longer held by its owner)
///                          | unborrow(id, borrower, n)
using core_actor = caf::typed_actor<
  caf::reacts_to<submit_atom>,
  caf::reacts_to<granted_atom, lease_grant>,
  caf::reacts_to<denied_atom, std::uint64_t, std::string>,
  caf::reacts_to<worker_died_atom, std::uint64_t, std::string>,
  caf::reacts_to<done_atom, std::vector<char>>,
  caf::reacts_to<push_atom, light_calls>,
  caf::reacts_to<fetch_atom, object_id>,
  caf::reacts_to<fetch_atom, fetch_request>,
  caf::reacts_to<object_atom, object_reply>,
  caf::reacts_to<tick_atom>,
  caf::reacts_to<flush_atom>,
  caf::reacts_to<actor_atom, actor_status>,
  caf::reacts_to<kill_atom, object_id, std::string>,
  caf::reacts_to<restart_atom, object_id, std::uint32_t>,
  caf::replies_to<rebuild_atom, object_id>::with<std::string>,
  caf::replies_to<cancel_atom, object_id, bool, bool>::with<std::string>,
  caf::reacts_to<cancel_atom, std::uint64_t, bool, bool>,
  caf::reacts_to<forward_atom, forward_request>,
  caf::reacts_to<owner_atom, owner_entry>,
  caf::reacts_to<node_down_atom, std::uint64_t, std::string>,
  caf::reacts_to<borrow_atom, object_id, caf::actor_addr>,
  caf::reacts_to<unborrow_atom, object_id, caf::actor, std::uint32_t>,
  caf::replies_to<borrow_atom, object_id, caf::actor_addr, std::uint32_t>::with<bool>,
  caf::reacts_to<unborrow_atom, object_id, caf::actor_addr, std::uint32_t>,
  caf::replies_to<exe_atom>::with<std::uint64_t>,
  caf::replies_to<status_atom>::with<std::string>,
  caf::replies_to<exe_atom, std::uint64_t, std::uint64_t>::with<std::vector<char>>,
  caf::reacts_to<log_atom, log_batch>,
  caf::replies_to<metrics_atom>::with<std::vector<char>>>;

} // namespace troupe
