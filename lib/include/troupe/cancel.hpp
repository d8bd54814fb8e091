#pragma once

// Cancelling tasks and actor method calls (Ray's `ray.cancel`).
//
//     auto r = troupe::task(crunch).remote(data);
//     troupe::cancel(r);            // get(r) throws task_cancelled_error
//
// A task that has not started never runs. One that runs is told: its
// `troupe::is_cancelled()` turns true, and it should return soon; with
// `force`, its worker process is killed instead (and the task not retried).
// `recursive` (the default) also cancels the tasks it submitted. A method
// call that has not started is removed from the actor's queue; one that
// runs sees `is_cancelled()` (calls cannot be forced: kill the actor).

#include "troupe/object_id.hpp"
#include "troupe/object_ref.hpp"

namespace troupe {

/// Options of `cancel`.
struct cancel_options {
  /// Kill the worker running the task instead of asking it to stop.
  bool force = false;
  /// Also cancel the tasks that the task submitted.
  bool recursive = true;
};

namespace detail {
void cancel_object(const object_id& id, const cancel_options& options);
} // namespace detail

/// Cancels the task or actor method call whose result `ref` is: `get` on it
/// throws `task_cancelled_error` from now on. Cancelling a finished task, or
/// one this process did not submit, does nothing. Throws `error` when the
/// cancel is refused (an actor's creation; `force` on a method call).
template <class T>
void cancel(const object_ref<T>& ref, const cancel_options& options = {}) {
  detail::cancel_object(ref.id(), options);
}

/// Called in a task or method: returns whether it was cancelled (without
/// `force`). False outside tasks.
bool is_cancelled();

} // namespace troupe
