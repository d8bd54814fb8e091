#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <caf/typed_actor.hpp>

#include "lib/protocol/messages.hpp"

namespace troupe::detail {

class client;

/// Spawns the executor of a worker process.
executor_actor spawn_executor(caf::actor_system& sys, client& c);

/// Spawns the CAF actor that hosts an actor instance: one executor running
/// its methods in order, or, for `max_concurrency` > 1, that many executors
/// behind a router (each method call goes to the next one). An `async`
/// actor's host runs all its calls on one thread, up to `max_concurrency`
/// of them in flight (coroutine_host.hpp).
executor_actor spawn_actor_host(caf::actor_system& sys, client& c,
                                std::shared_ptr<void> instance,
                                std::uint32_t max_concurrency, bool async);

} // namespace troupe::detail
