#pragma once

// Waking an async actor's calls from its other calls (the role asyncio's
// `Condition` plays in Ray's async actors). A call that cannot go on yet
// (a `get` of an empty queue) awaits a condition; another call of the same
// actor (a `put`) notifies it. Both run on the actor's one thread, so the
// condition needs no lock, and the waiting call does not hold the thread:
// the actor serves other calls meanwhile.
//
//     class box {
//     public:
//       troupe::async<int> take() {
//         while (!value_)
//           co_await ready_.wait();          // suspends this call only
//         co_return *std::exchange(value_, std::nullopt);
//       }
//       void give(int v) { value_ = v; ready_.notify_one(); }
//     private:
//       std::optional<int> value_;
//       troupe::condition ready_;
//     };
//
// A woken call resumes after the message that woke it, so another call may
// have taken what it waited for: check again in a loop, as with
// `std::condition_variable`.

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

namespace troupe {

namespace detail {

/// On an async actor's thread, in one of its calls: parks `h` and returns
/// the function that resumes it on that thread (a second call does nothing).
/// With `timeout`, the actor resumes it after that time unless resumed
/// before. Throws `error` (runtime) elsewhere.
std::function<void()> park_current_call(std::coroutine_handle<> h,
                                        std::optional<std::chrono::nanoseconds> timeout);

} // namespace detail

/// Calls of an async actor waiting for one another (see the top of this
/// header). Only its actor's calls may wait on it and notify it.
class condition {
  struct waiter {
    bool notified = false;
    std::function<void()> resume;
  };

public:
  /// What `co_await` of `wait` or `wait_for` gives: true when notified,
  /// false when the timeout passed first.
  class awaiter {
  public:
    awaiter(condition& c, std::optional<std::chrono::nanoseconds> timeout)
        : c_(&c), timeout_(timeout) {}

    bool await_ready() const noexcept { return timeout_ && timeout_->count() <= 0; }
    void await_suspend(std::coroutine_handle<> h) {
      w_ = std::make_shared<waiter>();
      w_->resume = detail::park_current_call(h, timeout_);
      c_->waiters_.push_back(w_);
    }
    bool await_resume() {
      if (!w_)
        return false; // a timeout of zero: no wait
      if (!w_->notified)
        std::erase(c_->waiters_, w_);
      return w_->notified;
    }

  private:
    condition* c_;
    std::optional<std::chrono::nanoseconds> timeout_;
    std::shared_ptr<waiter> w_;
  };

  /// Waits until notified: `co_await c.wait();`.
  [[nodiscard]] awaiter wait() { return {*this, std::nullopt}; }

  /// Waits until notified or `timeout` passed: `bool woken = co_await
  /// c.wait_for(1s);`. A timeout of zero or less does not wait.
  template <class Rep, class Period>
  [[nodiscard]] awaiter wait_for(std::chrono::duration<Rep, Period> timeout) {
    return {*this, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout)};
  }

  /// Wakes the call that waits longest, if any.
  void notify_one() {
    if (waiters_.empty())
      return;
    auto w = std::move(waiters_.front());
    waiters_.pop_front();
    w->notified = true;
    w->resume();
  }

  /// Wakes every waiting call.
  void notify_all() {
    while (!waiters_.empty())
      notify_one();
  }

  /// Returns how many calls wait.
  [[nodiscard]] std::size_t waiting() const noexcept { return waiters_.size(); }

private:
  std::deque<std::shared_ptr<waiter>> waiters_;
};

} // namespace troupe
