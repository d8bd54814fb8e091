#include "lib/core/cancellation.hpp"

#include <atomic>
#include <mutex>
#include <unordered_set>
#include <utility>

#include "troupe/task.hpp"

namespace troupe::detail {

namespace {

struct key_hash {
  std::size_t operator()(const task_key& k) const noexcept {
    return std::hash<caf::actor_addr>{}(k.submitter) * 31 + std::hash<std::uint64_t>{}(k.task_id);
  }
};

// A cancel is rare: one lock, and a set that stays small (a key leaves it
// when its task ends here).
std::mutex mutex;
std::unordered_set<task_key, key_hash> cancelled;
std::atomic<std::size_t> remembered{0};

// The running task: its submitter's handle (owned by the caller of
// run_task) and id. Plain values: setting them costs no reference count.
thread_local const core_actor* current_submitter = nullptr;
thread_local std::uint64_t current_task_id = 0;
thread_local std::uint64_t current_job = 0;

} // namespace

void mark_cancelled(const task_key& key) {
  std::lock_guard guard{mutex};
  cancelled.insert(key);
  remembered = cancelled.size();
}

bool any_cancels() noexcept {
  return remembered.load(std::memory_order_relaxed) != 0;
}

bool is_cancelled(const task_key& key) {
  if (!any_cancels())
    return false;
  std::lock_guard guard{mutex};
  return cancelled.count(key) > 0;
}

void forget_cancel(const task_key& key) {
  if (!any_cancels())
    return;
  std::lock_guard guard{mutex};
  cancelled.erase(key);
  remembered = cancelled.size();
}

task_key current_task() {
  if (current_submitter == nullptr || current_task_id == 0)
    return {};
  return {current_submitter->address(), current_task_id};
}

std::uint64_t current_task_job() noexcept {
  return current_job;
}

running_task::running_task(const core_actor& submitter, std::uint64_t task_id,
                           std::uint64_t job) noexcept
    : previous_submitter_(std::exchange(current_submitter, &submitter))
    , previous_task_(std::exchange(current_task_id, task_id))
    , previous_job_(std::exchange(current_job, job)) {
}

running_task::~running_task() {
  if (any_cancels())
    forget_cancel(current_task());
  current_submitter = previous_submitter_;
  current_task_id = previous_task_;
  current_job = previous_job_;
}

} // namespace troupe::detail

namespace troupe {

bool is_cancelled() {
  if (!detail::any_cancels())
    return false;
  auto key = detail::current_task();
  return key && detail::is_cancelled(key);
}

} // namespace troupe
