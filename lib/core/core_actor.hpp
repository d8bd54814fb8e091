#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "lib/protocol/messages.hpp"

namespace troupe::detail {

class client;

/// Spawns the core actor of `c`'s process.
core_actor spawn_core(caf::actor_system& sys, client& c);

} // namespace troupe::detail
