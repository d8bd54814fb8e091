#pragma once

// Submitting a call of any shape (troupe/detail/calls.hpp): the objects of
// a tuple's elements and the stream of a generator are made here, around
// `client::submit`.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lib/core/placement.hpp"
#include "lib/core/submitter.hpp"
#include "troupe/detail/calls.hpp"

namespace troupe::detail {

/// Queues a call of `fn` named `name`, placed by `where`; `more` marks it
/// (an actor's method call) before it is queued. A generator runs at most
/// `backpressure` items ahead of its consumer (0: no limit).
submission submit_call(const function_entry& fn, std::vector<task_arg>&& args,
                       task_name name, placement where,
                       std::uint32_t backpressure,
                       const std::function<void(task_record&)>& more = {});

} // namespace troupe::detail
