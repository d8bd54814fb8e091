#pragma once

// The host of an async actor (a class with a method returning `async<T>`):
// one detached CAF actor, so one thread, runs every call of the instance.
// A coroutine call runs until its first `co_await` of an object that is not
// ready; the host then serves other calls, and resumes it on the same
// thread once the object table says the object is ready (a `resume`
// message). So calls interleave only at `co_await`s and the class needs no
// locks. At most `max_concurrency` calls are in flight (started and not
// finished); later ones wait in the order they came.
//
// A call's states in the host:
//
//     waiting --(1) a slot is free--------------------> running
//     running --(2) co_await of a pending object------> suspended
//     suspended --(3) the object is ready or failed---> running
//     running --(4) a generator co_yields------------> item sent; running again
//                   at once (after other messages), or suspended (5) while
//                   the consumer is `backpressure` items behind
//     running --(6) co_return, or an exception--------> finished: result sent
//
// Plain methods of an async actor run on the same thread, to their end.

#include <cstdint>
#include <memory>

#include <caf/actor_system.hpp>

#include "lib/core/executor.hpp"
#include "lib/protocol/messages.hpp"

namespace troupe::detail {

class client;

/// Spawns the host of an async actor's instance.
/// A light actor's (`light` set) is a scheduled CAF actor, on the process's
/// thread pool, rather than one of its own thread.
executor_actor spawn_coroutine_host(caf::actor_system& sys, client& c,
                                    std::shared_ptr<void> instance,
                                    std::uint32_t max_concurrency,
                                    std::shared_ptr<const light_actor_info> light = nullptr);

} // namespace troupe::detail
