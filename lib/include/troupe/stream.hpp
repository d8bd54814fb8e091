#pragma once

// The caller's side of a streaming generator: `remote()` of a task or method
// returning `generator<T>` gives an `object_ref_stream<T>`, whose items are
// refs that arrive while the generator runs.
//
//     auto s = troupe::task(numbers).remote(100);   // object_ref_stream<int>
//     for (troupe::object_ref<int> r : s)           // each as soon as yielded
//       use(troupe::get(r));

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include "troupe/get.hpp"
#include "troupe/object_ref.hpp"

namespace troupe {

namespace detail {

/// The submitter's hold on one stream (lib/core): its items as they arrive,
/// how many were taken; dropping it tells the producer to stop.
class stream_handle;
using stream_ptr = std::shared_ptr<stream_handle>;

/// Returns the next item's ref once it arrived, or nullptr after the last
/// one; throws the generator's error (or timeout_error) instead.
ref_ptr stream_next(stream_handle& s, deadline until);

/// Returns the stream's id (the generator call's own object).
object_id stream_id(const stream_handle& s) noexcept;

/// Returns whether `stream_next` would return at once. Outside an async
/// actor's thread it returns true: `stream_next` then waits there.
bool stream_await_ready(stream_handle& s);

/// On an async actor's thread: arranges that `h` resumes there once the
/// next item arrived or the stream ended; returns false if it already did.
bool stream_await_suspend(stream_handle& s, std::coroutine_handle<> h);

} // namespace detail

/// The refs a streaming generator yields, in order, each available as soon
/// as the generator yielded it. One consumer: the stream moves, it does not
/// copy. An item counts as consumed once `next()` returned it (as in Ray): a
/// generator called with backpressure N is held at its `co_yield` while N
/// items are unconsumed. Dropping the stream stops the generator at its
/// next `co_yield`; items already taken stay valid.
template <class T>
class object_ref_stream {
public:
  object_ref_stream() = default;
  explicit object_ref_stream(detail::stream_ptr s)
      : s_(std::move(s)) {}
  object_ref_stream(object_ref_stream&&) noexcept = default;
  object_ref_stream& operator=(object_ref_stream&&) noexcept = default;
  object_ref_stream(const object_ref_stream&) = delete;
  object_ref_stream& operator=(const object_ref_stream&) = delete;

  /// Returns the next item, waiting until the generator yields it, or
  /// nothing once the generator returned and every item was taken. Throws
  /// the generator's failure after the items it yielded before it:
  /// `task_error` when it threw, `worker_crashed_error` (or
  /// `actor_died_error`) when its process died.
  std::optional<object_ref<T>> next() {
    return wrap(detail::stream_next(*s_, std::nullopt));
  }

  /// As `next()`, but throws `timeout_error` after `timeout`; the stream is
  /// unaffected and the item can still be taken later.
  template <class Rep, class Period>
  std::optional<object_ref<T>> next(std::chrono::duration<Rep, Period> timeout) {
    return wrap(detail::stream_next(*s_, detail::after(timeout)));
  }

  /// Awaits the next item in a coroutine: `while (auto r = co_await
  /// s.next_async())`. On an async actor's thread the call suspends while
  /// the item is on its way and the actor serves other calls; elsewhere it
  /// waits as `next()` does.
  auto next_async() {
    struct awaiter {
      object_ref_stream* s;
      bool await_ready() { return detail::stream_await_ready(*s->s_); }
      bool await_suspend(std::coroutine_handle<> h) {
        return detail::stream_await_suspend(*s->s_, h);
      }
      std::optional<object_ref<T>> await_resume() { return s->next(); }
    };
    return awaiter{this};
  }

  /// Returns the stream's id (that of the generator call).
  [[nodiscard]] object_id id() const noexcept {
    return s_ ? detail::stream_id(*s_) : object_id{};
  }

  /// Returns whether the stream names a generator call.
  [[nodiscard]] bool valid() const noexcept { return s_ != nullptr; }

  /// Iterates over the items with `next()`: `for (auto r : stream)`.
  class iterator {
  public:
    using iterator_category = std::input_iterator_tag;
    using value_type = object_ref<T>;
    using difference_type = std::ptrdiff_t;

    iterator() = default;
    explicit iterator(object_ref_stream* s)
        : s_(s) {
      ++*this;
    }

    const object_ref<T>& operator*() const { return *cur_; }
    const object_ref<T>* operator->() const { return &*cur_; }
    iterator& operator++() {
      cur_ = s_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return !it.cur_.has_value();
    }

  private:
    object_ref_stream* s_ = nullptr;
    std::optional<object_ref<T>> cur_;
  };

  iterator begin() { return iterator{this}; }
  std::default_sentinel_t end() const noexcept { return {}; }

private:
  static std::optional<object_ref<T>> wrap(detail::ref_ptr r) {
    if (!r)
      return std::nullopt;
    return object_ref<T>{std::move(r)};
  }

  detail::stream_ptr s_;
};

} // namespace troupe
