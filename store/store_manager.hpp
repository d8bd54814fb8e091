#pragma once

#include <memory>
#include <string>

#include <caf/typed_actor.hpp>

#include "lib/protocol/messages.hpp"
#include "store/allocator.hpp"

namespace troupe::store {

/// Spawns the manager of `segment`, which the caller created. Objects spill
/// into the folder `spill-SEGMENT` of `spill_dir` (default:
/// `$TROUPE_SESSION_DIR`, else /tmp) when the store is full; the manager
/// removes that folder when it stops. `max_job_bytes`: the store memory one
/// job's objects may take (0: no limit).
store_manager_actor spawn_store_manager(caf::actor_system& sys,
                                        std::shared_ptr<shm_allocator> segment,
                                        std::string spill_dir = "",
                                        std::uint64_t max_job_bytes = 0);

/// Removes segments named `troupe-PID-*` in /dev/shm whose node process PID
/// is gone (left behind by a node killed with SIGKILL).
void remove_stale_segments();

} // namespace troupe::store
