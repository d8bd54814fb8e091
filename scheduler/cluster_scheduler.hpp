#pragma once

#include <cstdint>

#include <caf/typed_actor.hpp>

#include "lib/protocol/messages.hpp"

namespace troupe::sched {

cluster_scheduler_actor spawn_cluster_scheduler(caf::actor_system& sys);

} // namespace troupe::sched
