#pragma once

#include <cstdint>
#include <functional>

#include <caf/actor_addr.hpp>

#include "lib/protocol/core_actor.hpp"

// Cancellation in a worker: which tasks running (or about to run) here were
// cancelled by their submitters. The core actor marks them as the cancels
// arrive; the executor skips a cancelled task it has not started, and
// `troupe::is_cancelled()` asks for the task running on the calling thread.
// Process-wide, as the client is.

namespace troupe::detail {

/// A task as its worker knows it: the submitter's core actor and the
/// submitter's id for it (task ids are per submitter).
struct task_key {
  caf::actor_addr submitter;
  std::uint64_t task_id = 0;

  bool operator==(const task_key&) const = default;
  explicit operator bool() const noexcept { return task_id != 0; }
};

/// Marks `key` cancelled.
void mark_cancelled(const task_key& key);

/// Returns whether `key` was cancelled.
bool is_cancelled(const task_key& key);

/// Forgets `key` (its task ended here).
void forget_cancel(const task_key& key);

/// Returns whether any cancel is remembered (the hot path asks nothing
/// else while there is none).
bool any_cancels() noexcept;

/// Returns the task running on this thread (empty outside tasks).
task_key current_task();

/// Returns the job the task running on this thread works for (0: none, or
/// no task runs here).
std::uint64_t current_task_job() noexcept;

/// Makes task `task_id` of `submitter`, working for `job`, the one running
/// on this thread for its life, and forgets its cancel at the end. Holds no
/// reference: the submitter's handle outlives the task.
class running_task {
public:
  running_task(const core_actor& submitter, std::uint64_t task_id,
               std::uint64_t job = 0) noexcept;
  ~running_task();
  running_task(const running_task&) = delete;
  running_task& operator=(const running_task&) = delete;

private:
  const core_actor* previous_submitter_;
  std::uint64_t previous_task_;
  std::uint64_t previous_job_;
};

} // namespace troupe::detail
