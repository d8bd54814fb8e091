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

} // namespace troupe
