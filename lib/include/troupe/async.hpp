#pragma once

// Coroutines: actor methods that `co_await` refs while their actor serves
// other calls (async actors, as Ray's `async def` methods), and generators
// whose `co_yield`ed items reach the caller as a stream of refs.
//
//     class fetcher {
//     public:
//       troupe::async<int> twice(troupe::object_ref<int> r) {
//         int x = co_await r;        // suspends this call, not the actor
//         co_return 2 * x;
//       }
//       troupe::generator<int> count(int n) {
//         for (int i = 0; i < n; ++i)
//           co_yield i;              // the caller gets a ref per item
//       }
//     };
//
// Where a coroutine runs decides what `co_await ref` does: on the thread of
// an async actor (a class with at least one method returning `async<T>`) it
// suspends the call, and the actor's thread resumes it once the object is
// ready; anywhere else (a task, a threaded actor's method) it waits as `get`
// does, so the same code runs in both.

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "troupe/get.hpp"
#include "troupe/object_ref.hpp"

namespace troupe {

namespace detail {

/// Returns whether the object is ready (or failed). Outside an async actor's
/// thread it first waits until it is, as `get` does.
bool ref_await_ready(const ref_ptr& ref);

/// On an async actor's thread: arranges that `h` resumes on that thread once
/// the object is ready or failed (fetching a borrowed one from its owner).
/// Returns false if it already is, and `h` goes on at once.
bool ref_await_suspend(const ref_ptr& ref, std::coroutine_handle<> h);

/// Awaits an object: its value, or its error thrown at the `co_await`.
template <class T>
struct ref_awaiter {
  ref_ptr ref;

  bool await_ready() { return ref_await_ready(ref); }
  bool await_suspend(std::coroutine_handle<> h) { return ref_await_suspend(ref, h); }
  T await_resume() { return decode_ref(object_ref<T>{ref}, std::nullopt); }
};

/// What the promises of `async<T>` and `generator<T>` share: they start
/// suspended (whoever runs them decides on which thread), keep what the body
/// threw, and at their end go on with the coroutine that awaited them.
struct promise_base {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) const noexcept {
      auto next = h.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() const noexcept { return {}; }

  void unhandled_exception() noexcept { error = std::current_exception(); }

  void rethrow_if_failed() const {
    if (error)
      std::rethrow_exception(error);
  }
};

/// Owns a coroutine frame: destroys it with the last owner.
template <class Promise>
class frame {
public:
  using handle_type = std::coroutine_handle<Promise>;

  frame() = default;
  explicit frame(handle_type h) noexcept
      : h_(h) {}
  frame(frame&& other) noexcept
      : h_(std::exchange(other.h_, {})) {}
  frame& operator=(frame&& other) noexcept {
    if (this != &other) {
      if (h_)
        h_.destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  ~frame() {
    if (h_)
      h_.destroy();
  }

  [[nodiscard]] handle_type get() const noexcept { return h_; }

private:
  handle_type h_;
};

template <class T>
struct async_promise : promise_base {
  std::optional<T> value;

  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() {
    rethrow_if_failed();
    return std::move(*value);
  }
};

template <>
struct async_promise<void> : promise_base {
  void return_void() noexcept {}
  void take() { rethrow_if_failed(); }
};

} // namespace detail

/// Awaits an object inside a coroutine: `int x = co_await ref;`. The error
/// of a failed object is thrown at the `co_await`.
template <class T>
detail::ref_awaiter<T> operator co_await(const object_ref<T>& ref) {
  return {ref.handle()};
}

/// The result of a coroutine: an actor method returning `async<T>` makes its
/// class an *async actor* (see the top of this header); its caller gets an
/// `object_ref<T>` as from any method (a tuple, several refs). Coroutines
/// returning `async<U>` await each other: `U u = co_await helper();`.
///
/// A coroutine's parameters must be values: a reference would dangle once
/// the call suspends.
template <class T = void>
class [[nodiscard]] async {
public:
  struct promise_type : detail::async_promise<T> {
    async get_return_object() {
      return async{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
  };
  using handle_type = std::coroutine_handle<promise_type>;

  /// Returns the coroutine (for the runtime, which starts and resumes it).
  [[nodiscard]] handle_type handle() const noexcept { return frame_.get(); }

  /// Returns its result once it is done; rethrows what its body threw.
  T take() { return frame_.get().promise().take(); }

  // Awaited by another coroutine: runs it, then goes on with the awaiter.
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    frame_.get().promise().continuation = awaiting;
    return frame_.get();
  }
  T await_resume() { return take(); }

private:
  explicit async(handle_type h) noexcept
      : frame_(h) {}

  detail::frame<promise_type> frame_;
};

/// The result of a streaming generator, a task or method that `co_yield`s
/// values of `T`: its caller gets an `object_ref_stream<T>` and each item as
/// a ref of its own while the generator goes on. A generator may also
/// `co_await` refs, as `async<T>` does. Parameters must be values.
template <class T>
class [[nodiscard]] generator {
public:
  static_assert(!std::is_void_v<T> && !std::is_reference_v<T>,
                "troupe: a generator yields values");

  struct promise_type : detail::promise_base {
    std::optional<T> current;

    generator get_return_object() {
      return generator{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    template <class U>
    std::suspend_always yield_value(U&& v) {
      current.emplace(std::forward<U>(v));
      return {};
    }
    void return_void() noexcept {}
  };
  using handle_type = std::coroutine_handle<promise_type>;

  /// Returns the coroutine (for the runtime).
  [[nodiscard]] handle_type handle() const noexcept { return frame_.get(); }

  /// Returns whether it yielded an item not taken yet.
  [[nodiscard]] bool has_item() const noexcept {
    return frame_.get().promise().current.has_value();
  }

  /// Returns the item it yielded last, and forgets it.
  T take_item() {
    auto& cur = frame_.get().promise().current;
    T out = std::move(*cur);
    cur.reset();
    return out;
  }

  /// Rethrows what its body threw, once it is done.
  void rethrow_if_failed() const { frame_.get().promise().rethrow_if_failed(); }

private:
  explicit generator(handle_type h) noexcept
      : frame_(h) {}

  detail::frame<promise_type> frame_;
};

namespace detail {

template <class T>
struct is_async : std::false_type {};
template <class T>
struct is_async<async<T>> : std::true_type {
  using value_type = T;
};

template <class T>
struct is_generator : std::false_type {};
template <class T>
struct is_generator<generator<T>> : std::true_type {
  using value_type = T;
};

} // namespace detail

} // namespace troupe
