#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/codec.hpp"
#include "troupe/object_ref.hpp"

namespace troupe {

namespace detail {

/// When a wait gives up: never (empty), or a timeout. The clock is read when
/// a wait first needs the time, i.e. when it blocks: a get of an object that
/// is ready (about 120 ns) does not pay for a clock read (it was an eighth
/// of such a get). The timeout so counts from the moment the wait blocks,
/// microseconds after the call.
class deadline {
public:
  using clock = std::chrono::steady_clock;

  deadline() noexcept = default;
  deadline(std::nullopt_t) noexcept {} // NOLINT: never, as an empty optional
  explicit deadline(clock::duration timeout) noexcept : timeout_(timeout), set_(true) {}

  /// A deadline at `when`, already fixed.
  static deadline at(clock::time_point when) noexcept {
    deadline d;
    d.set_ = d.fixed_ = true;
    d.at_ = when;
    return d;
  }

  /// Whether there is one (false: wait for ever).
  explicit operator bool() const noexcept { return set_; }

  /// The time it gives up at, fixed by the first call.
  clock::time_point operator*() const {
    if (!fixed_) {
      at_ = clock::now() + timeout_;
      fixed_ = true;
    }
    return at_;
  }

  /// Fixes the time now, so that copies share it (one timeout for many gets).
  deadline& fix() {
    if (set_)
      (void)**this;
    return *this;
  }

private:
  clock::duration timeout_{};
  mutable clock::time_point at_{};
  bool set_ = false;
  mutable bool fixed_ = false;
};

template <class Rep, class Period>
deadline after(std::chrono::duration<Rep, Period> timeout) {
  return deadline{std::chrono::duration_cast<deadline::clock::duration>(timeout)};
}

/// Blocks until the object is ready (or `until` passes) and returns its bytes.
raw_value get_raw(const ref_ptr& ref, deadline until);

/// Returns the bytes of each of `refs`, in order, as `get_raw` of each
/// would: their owners are asked, and their copies pulled from other nodes,
/// together rather than one after another.
std::vector<raw_value> get_many_raw(const std::vector<ref_ptr>& refs, deadline until);

template <class T>
std::vector<T> decode_refs(const std::vector<object_ref<T>>& refs, deadline until) {
  std::vector<ref_ptr> handles;
  handles.reserve(refs.size());
  for (auto& r : refs)
    handles.push_back(r.handle());
  std::vector<T> out;
  out.reserve(refs.size());
  for (auto& raw : get_many_raw(handles, until))
    out.push_back(codec<T>::decode(raw));
  return out;
}

/// Blocks until `num_returns` of `refs` are ready or `until` passes; sets
/// `ready[i]` for each ready one.
void wait_raw(const std::vector<ref_ptr>& refs, std::size_t num_returns,
              deadline until, std::vector<bool>& ready);

/// Stores `value` (in the node's store when `in_store`, or when large) and
/// returns a ref owned by this process.
ref_ptr put_raw(encoded_value&& value, bool in_store);

template <class T>
T decode_ref(const object_ref<T>& ref, deadline until) {
  auto raw = get_raw(ref.handle(), until);
  if constexpr (std::is_void_v<T>)
    codec<unit_value>::decode(raw);
  else
    return codec<T>::decode(raw);
}

} // namespace detail

/// Returns the ref's value, waiting until it is ready. Throws the task's
/// failure (`task_error`, `worker_crashed_error`, ...) if it failed.
template <class T>
T get(const object_ref<T>& ref) {
  return detail::decode_ref(ref, std::nullopt);
}

/// As `get(ref)`, but throws `timeout_error` after `timeout`. The object is
/// not affected: a later `get` can still return it.
template <class T, class Rep, class Period>
T get(const object_ref<T>& ref, std::chrono::duration<Rep, Period> timeout) {
  return detail::decode_ref(ref, detail::after(timeout));
}

/// Returns the values of all refs, in order.
template <class T>
std::vector<T> get(const std::vector<object_ref<T>>& refs) {
  return detail::decode_refs(refs, std::nullopt);
}

/// As `get(refs)`, with one timeout for all of them.
template <class T, class Rep, class Period>
std::vector<T> get(const std::vector<object_ref<T>>& refs,
                   std::chrono::duration<Rep, Period> timeout) {
  // One deadline for all: the copies of it each get waits with share it.
  return detail::decode_refs(refs, detail::after(timeout).fix());
}

/// Returns a read-only view of an array value. On the node that stores it,
/// the view points into shared memory: no copy is made.
template <class E>
shared_array<E> get_view(const object_ref<std::vector<E>>& ref) {
  return detail::codec<shared_array<E>>::decode(
    detail::get_raw(ref.handle(), std::nullopt));
}

template <class E>
shared_array<E> get_view(const object_ref<shared_array<E>>& ref) {
  return detail::codec<shared_array<E>>::decode(
    detail::get_raw(ref.handle(), std::nullopt));
}

/// What `wait` found: the refs that are ready (finished, or failed) and the
/// rest, each in the order given.
template <class T>
struct wait_result {
  std::vector<object_ref<T>> ready;
  std::vector<object_ref<T>> not_ready;
};

namespace detail {

template <class T>
wait_result<T> wait_until(const std::vector<object_ref<T>>& refs,
                          std::size_t num_returns, deadline until) {
  std::vector<ref_ptr> handles;
  handles.reserve(refs.size());
  for (auto& r : refs)
    handles.push_back(r.handle());
  std::vector<bool> ready;
  wait_raw(handles, num_returns, until, ready);
  // At most `num_returns` are reported ready, the first ones in `refs`, as
  // in Ray: a loop of `wait(not_ready, 1)` takes one ref at a time.
  wait_result<T> out;
  for (std::size_t i = 0; i < refs.size(); ++i)
    (ready[i] && out.ready.size() < num_returns ? out.ready : out.not_ready)
      .push_back(refs[i]);
  return out;
}

} // namespace detail

/// Waits until `num_returns` of `refs` are ready and returns exactly
/// `num_returns` of them as ready (the first ready ones, in the order of
/// `refs`), even when more are; the rest, ready or not, are in `not_ready`.
/// Never throws for failed tasks: they count as ready.
template <class T>
wait_result<T> wait(const std::vector<object_ref<T>>& refs, std::size_t num_returns) {
  return detail::wait_until(refs, num_returns, std::nullopt);
}

/// As `wait(refs, num_returns)`, but returns after `timeout` at the latest,
/// then with fewer than `num_returns` ready if fewer were.
template <class T, class Rep, class Period>
wait_result<T> wait(const std::vector<object_ref<T>>& refs, std::size_t num_returns,
                    std::chrono::duration<Rep, Period> timeout) {
  return detail::wait_until(refs, num_returns, detail::after(timeout));
}

/// Waits until all of `refs` are ready.
template <class T>
wait_result<T> wait(const std::vector<object_ref<T>>& refs) {
  return wait(refs, refs.size());
}

/// How `put` stores a value.
struct put_options {
  /// Writes the value into the node's shared-memory store whatever its size.
  /// By default a value of up to 100 KiB stays in this process's memory: a
  /// `get` here is a lookup, and a task given its ref gets a copy inside the
  /// task message. In the store, every `get` and every task on the node
  /// reads the one stored copy (pinned while read), a task on another node
  /// pulls it, and the object takes store memory until its last ref is gone.
  /// Ray's `ray.put` always does this.
  bool in_store = false;
};

/// Stores `value` in the cluster and returns a ref to it. Large values (over
/// 100 KiB), and any value with `options.in_store`, go to the node's
/// shared-memory store; throws `object_store_full` if they do not fit.
template <class T>
object_ref<std::decay_t<T>> put(const T& value, const put_options& options = {}) {
  return object_ref<std::decay_t<T>>{
    detail::put_raw(detail::encode(value), options.in_store)};
}

} // namespace troupe
