#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <caf/typed_actor.hpp>

#include "lib/src/messages.hpp"

namespace troupe::detail {

class client;

/// The task actor of a worker process: it runs the tasks pushed to the
/// worker, one at a time and in order, on its own thread (it is detached, so
/// a long task blocks nothing else in the process), and sends each result
/// batch back to the submitter.
///
///     submitter -> executor : push(TaskBatch bytes)
///     executor  -> submitter: done(ResultBatch bytes)
using executor_actor
  = caf::typed_actor<caf::reacts_to<push_atom, std::vector<char>>>;

/// Spawns the executor of a worker process.
executor_actor spawn_executor(caf::actor_system& sys, client& c);

/// Spawns the CAF actor that hosts an actor instance: one executor running
/// its methods in order, or, for `max_concurrency` > 1, that many executors
/// behind a router (each method call goes to the next one).
executor_actor spawn_actor_host(caf::actor_system& sys, client& c,
                                std::shared_ptr<void> instance,
                                std::uint32_t max_concurrency);

} // namespace troupe::detail
