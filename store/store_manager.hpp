#pragma once

#include <memory>
#include <string>

#include <caf/typed_actor.hpp>

#include "lib/src/messages.hpp"
#include "store/allocator.hpp"

namespace troupe::store {

/// A node's object-store manager: it creates and owns the node's
/// shared-memory segment (every process of the node maps it and allocates in
/// it directly, so the hot path of `put` and of task results sends no
/// message here), reports its occupancy, and removes it when the node stops.
///
///     anyone      -> manager : stats ==> JSON {capacity, free, objects, bytes}
///     control st. -> manager : stop  ==> true   (remove the segment)
using store_manager_actor = caf::typed_actor<
  caf::replies_to<stats_atom>::with<std::string>,
  caf::replies_to<stop_atom>::with<bool>>;

/// Spawns the manager of `segment`, which the caller created.
store_manager_actor spawn_store_manager(caf::actor_system& sys,
                                        std::shared_ptr<shm_allocator> segment);

/// Removes segments named `troupe-PID-*` in /dev/shm whose node process PID
/// is gone (left behind by a node killed with SIGKILL).
void remove_stale_segments();

} // namespace troupe::store
