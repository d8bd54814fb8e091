#include "troupe/queue.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

namespace troupe::detail {

namespace {

using clock = std::chrono::steady_clock;

/// When a wait of `timeout_us` (below 0: none) started now gives up.
std::optional<clock::time_point> deadline_of(std::int64_t timeout_us) {
  if (timeout_us < 0)
    return std::nullopt;
  return clock::now() + std::chrono::microseconds(timeout_us);
}

/// Waits on `c` until notified or `until`; returns false once `until` passed.
template <class Cond>
auto wait_until(Cond& c, std::optional<clock::time_point> until) -> async<bool> {
  if (!until) {
    co_await c.wait();
    co_return true;
  }
  auto left = *until - clock::now();
  if (left <= clock::duration::zero())
    co_return false;
  co_await c.wait_for(left);
  co_return true; // the caller checks again, and comes back when time is up
}

} // namespace

queue_actor::queue_actor(std::int64_t maxsize, std::string item_type)
    : maxsize_(std::max<std::int64_t>(0, maxsize)), item_type_(std::move(item_type)) {}

bool queue_actor::full() const {
  return maxsize_ > 0 && static_cast<std::int64_t>(items_.size()) >= maxsize_;
}

async<bool> queue_actor::put(std::vector<char> item, std::int64_t timeout_us) {
  auto until = deadline_of(timeout_us);
  // A woken put may find the room taken by a put that came meanwhile: check
  // again until there is room or the time is up.
  while (full())
    if (!co_await wait_until(not_full_, until))
      co_return false;
  items_.push_back(std::move(item));
  not_empty_.notify_one();
  co_return true;
}

async<queue_take> queue_actor::get(std::int64_t timeout_us) {
  auto until = deadline_of(timeout_us);
  while (items_.empty())
    if (!co_await wait_until(not_empty_, until))
      co_return queue_take{};
  co_return try_get();
}

bool queue_actor::try_put(std::vector<char> item) {
  if (full())
    return false;
  items_.push_back(std::move(item));
  not_empty_.notify_one();
  return true;
}

queue_take queue_actor::try_get() {
  if (items_.empty())
    return {};
  queue_take out{true, std::move(items_.front())};
  items_.pop_front();
  not_full_.notify_one();
  return out;
}

bool queue_actor::put_batch(std::vector<std::vector<char>> items) {
  if (maxsize_ > 0
      && static_cast<std::int64_t>(items_.size() + items.size()) > maxsize_)
    return false;
  for (auto& x : items) {
    items_.push_back(std::move(x));
    not_empty_.notify_one();
  }
  return true;
}

std::vector<std::vector<char>> queue_actor::get_batch(std::int64_t max) {
  std::vector<std::vector<char>> out;
  while (!items_.empty() && static_cast<std::int64_t>(out.size()) < max) {
    out.push_back(std::move(items_.front()));
    items_.pop_front();
    not_full_.notify_one();
  }
  return out;
}

std::int64_t queue_actor::size() const {
  return static_cast<std::int64_t>(items_.size());
}

std::int64_t queue_actor::maxsize() const {
  return maxsize_;
}

std::string queue_actor::item_type() const {
  return item_type_;
}

namespace {

std::unique_ptr<queue_actor> make_queue_actor(std::int64_t maxsize, std::string item_type) {
  return std::make_unique<queue_actor>(maxsize, std::move(item_type));
}

} // namespace

// Names of our own: a user's `queue_actor::put` must not collide with them.
TROUPE_REMOTE_AS("troupe::queue", make_queue_actor);
TROUPE_REMOTE_AS("troupe::queue::put", &queue_actor::put);
TROUPE_REMOTE_AS("troupe::queue::get", &queue_actor::get);
TROUPE_REMOTE_AS("troupe::queue::try_put", &queue_actor::try_put);
TROUPE_REMOTE_AS("troupe::queue::try_get", &queue_actor::try_get);
TROUPE_REMOTE_AS("troupe::queue::put_batch", &queue_actor::put_batch);
TROUPE_REMOTE_AS("troupe::queue::get_batch", &queue_actor::get_batch);
TROUPE_REMOTE_AS("troupe::queue::size", &queue_actor::size);
TROUPE_REMOTE_AS("troupe::queue::maxsize", &queue_actor::maxsize);
TROUPE_REMOTE_AS("troupe::queue::item_type", &queue_actor::item_type);

actor_handle<queue_actor> create_queue(std::int64_t maxsize, std::string_view item_type,
                                       const actor_options& options) {
  if (maxsize < 0)
    throw std::invalid_argument("troupe::queue: maxsize " + std::to_string(maxsize)
                                + " is below 0 (0 means no bound)");
  return troupe::actor(make_queue_actor, options).remote(maxsize, std::string{item_type});
}

actor_handle<queue_actor> find_queue(const std::string& name, const std::string& name_space,
                                     std::string_view item_type) {
  auto a = get_actor<queue_actor>(name, name_space);
  auto held = troupe::get(a.task(&queue_actor::item_type).remote());
  if (held != item_type)
    throw argument_type_error("troupe::queue \"" + name + "\" holds items of type " + held
                              + ", not " + std::string{item_type});
  return a;
}

void throw_empty_queue_handle() {
  throw error(error_kind::runtime,
              "troupe::queue: an empty handle (default-constructed, not a queue)");
}

std::int64_t to_micros(std::chrono::nanoseconds timeout) {
  return std::max<std::int64_t>(
    0, std::chrono::duration_cast<std::chrono::microseconds>(timeout).count());
}

} // namespace troupe::detail
