#pragma once

#include <cstdint>
#include <memory>

#include <caf/typed_actor.hpp>

#include "lib/protocol/messages.hpp"
#include "scheduler/group_keeper.hpp"

namespace troupe::sched {

/// Spawns the head's cluster scheduler. With a `keeper` its placement groups
/// are written there as they change, and those a previous head kept are
/// loaded first (which throws what the keeper throws).
cluster_scheduler_actor spawn_cluster_scheduler(caf::actor_system& sys,
                                                std::shared_ptr<group_keeper> keeper = nullptr);

} // namespace troupe::sched
