#include "lib/core/cancellation.hpp"

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

thread_local task_key current;

} // namespace

void mark_cancelled(const task_key& key) {
  std::lock_guard guard{mutex};
  cancelled.insert(key);
}

bool is_cancelled(const task_key& key) {
  std::lock_guard guard{mutex};
  return !cancelled.empty() && cancelled.count(key) > 0;
}

void forget_cancel(const task_key& key) {
  std::lock_guard guard{mutex};
  if (!cancelled.empty())
    cancelled.erase(key);
}

std::size_t remembered_cancels() {
  std::lock_guard guard{mutex};
  return cancelled.size();
}

const task_key& current_task() noexcept {
  return current;
}

running_task::running_task(task_key key) : previous_(std::exchange(current, std::move(key))) {
}

running_task::~running_task() {
  forget_cancel(current);
  current = std::move(previous_);
}

} // namespace troupe::detail

namespace troupe {

bool is_cancelled() {
  auto& key = detail::current_task();
  return key && detail::is_cancelled(key);
}

} // namespace troupe
