#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "lib/protocol/fwd.hpp"

namespace troupe {

/// The task actor of a worker process: it runs the tasks pushed to the
/// worker, one at a time and in order, on its own thread (it is detached, so
/// a long task blocks nothing else in the process), and sends each result
/// batch back to the submitter.
///
///     submitter -> executor : push(TaskBatch bytes)
///     executor  -> submitter: done(ResultBatch bytes)
using executor_actor
  = caf::typed_actor<caf::reacts_to<push_atom, std::vector<char>>>;

/// The executor of an async actor (a class with coroutine methods): it runs
/// every call on its one thread, many in flight at once, each suspended at
/// its `co_await`s. Others know it as an `executor_actor`; the messages it
/// adds come only from its own process.
///
///     submitter -> host : push(TaskBatch bytes)
///     host      -> submitter: done(ResultBatch bytes)  (each call when it ends)
///     object table, stream actor, host -> host : resume(token)
///                 (a suspended coroutine may go on: what it awaited is ready,
///                  its stream's consumer caught up, or it yielded its turn)
using coroutine_host_actor = executor_actor::extend<caf::reacts_to<resume_atom, std::uint64_t>>;

} // namespace troupe
