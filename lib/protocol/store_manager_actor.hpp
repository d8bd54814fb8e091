#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "lib/protocol/fwd.hpp"
#include "lib/protocol/control_store_actor.hpp"

namespace troupe {

/// A node's object-store manager: it creates and owns the node's
/// shared-memory segment (every process of the node maps it and allocates in
/// it directly, so the hot path of `put` and of task results sends no
/// message here), moves objects between nodes, drops the holds of the
/// node's processes that died (2-4 s after, and before it evicts), reports
/// its occupancy, and removes the segment when the node stops.
///
/// Pulling (Ray's object manager): a process that needs an object held in
/// another node's store asks its own manager to `pull` it. The manager keeps
/// one local copy per object (the copy's first pin is the manager's), reads
/// the source's metadata, then reads the bytes over the source's data
/// channel (a plain TCP connection between the two managers, straight from
/// one shared segment into the other) or, where there is none, asks for them
/// in chunks, several in flight, and seals the copy when all arrived. Copies
/// that nobody else pins
/// are evicted, least recently pulled first, when the store is full.
///
///     node daemon -> manager : node(control store, node id)
///     process     -> manager : pull(pull_request) ==> local offset (a pin
///                                   handed over to the caller, who adopts it)
///     manager     -> manager : fetch(offset, id)  ==> object_meta (pins it)
///                            | chunk(offset, start, length) ==> bytes
///                            | chunk              ==> (port, key) of its data
///                                channel, plain TCP for the bytes (port 0:
///                                none, ask for chunks as above)
///                            | release(offset)    (the transfer's pin)
///     process     -> manager : pin(offset, node) | unpin(offset, node)
///                              (relayed to that node's manager: a holder of
///                              an object in another node's store)
///     process     -> manager : adopt(offset, id, node) (a pin handed over in
///                              another node's store, taken by that node's
///                              manager for this process: relayed)
///     manager     -> manager : pin(offset) | unpin(offset) | adopt(offset, id)
///     manager     -> manager : tick (reap the holds of dead processes)
///     process     -> manager : evict(bytes) ==> bytes freed (its put found
///                              the store full: cached copies that nobody
///                              pins go, least recently pulled first)
///     process     -> manager : evict(bytes, job) ==> bytes freed (its put
///                              would pass the job's share: that job's
///                              objects nobody reads are spilled, oldest first)
///     anyone      -> manager : stats ==> JSON of store_status
///     control st. -> manager : stop  ==> true   (remove the segment)
///     control st. -> manager : object (report every copy cached here to the
///                              control store: a restarted head re-learns them)
using store_manager_actor = caf::typed_actor<
  caf::reacts_to<node_atom, control_store_actor, std::uint64_t>,
  caf::replies_to<pull_atom, pull_request>::with<std::uint64_t>,
  caf::replies_to<fetch_atom, std::uint64_t, object_id>::with<object_meta>,
  caf::replies_to<chunk_atom, std::uint64_t, std::uint64_t, std::uint64_t>::with<
    std::vector<char>>,
  caf::replies_to<chunk_atom>::with<std::uint16_t, std::uint64_t>,
  caf::reacts_to<release_atom, std::uint64_t>,
  caf::reacts_to<pin_atom, std::uint64_t>,
  caf::reacts_to<unpin_atom, std::uint64_t>,
  caf::reacts_to<pin_atom, std::uint64_t, std::uint64_t>,
  caf::reacts_to<unpin_atom, std::uint64_t, std::uint64_t>,
  caf::reacts_to<adopt_atom, std::uint64_t, object_id>,
  caf::reacts_to<adopt_atom, std::uint64_t, object_id, std::uint64_t>,
  caf::reacts_to<tick_atom>,
  caf::replies_to<stats_atom>::with<std::string>,
  caf::replies_to<evict_atom, std::uint64_t>::with<std::uint64_t>,
  caf::replies_to<evict_atom, std::uint64_t, std::uint64_t>::with<std::uint64_t>,
  caf::replies_to<stop_atom>::with<bool>,
  caf::reacts_to<object_atom>>;

} // namespace troupe
