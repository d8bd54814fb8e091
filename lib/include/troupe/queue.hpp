#pragma once

// A distributed FIFO queue (Ray's `ray.util.queue.Queue`): an async actor
// holds the items, and every holder of the handle, a driver, a task or an
// actor on any node, puts and gets.
//
//     troupe::queue<int> q(100);            // at most 100 items (0: no bound)
//     q.put(1);                             // waits while the queue is full
//     int x = q.get(2s);                    // throws queue_empty after 2 s
//     if (auto y = q.try_get()) ...         // never waits
//     troupe::task(consume).remote(q);      // handles travel to tasks
//
// A `get` that waits does not hold the queue: its actor serves other calls
// meanwhile (troupe/condition.hpp), so a producer elsewhere can fill it.
// Items are stored encoded; refs inside them keep their objects for as long
// as their owner lives.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "troupe/actor.hpp"
#include "troupe/async.hpp"
#include "troupe/codec.hpp"
#include "troupe/condition.hpp"
#include "troupe/detail/value_bytes.hpp"
#include "troupe/errors.hpp"
#include "troupe/get.hpp"

namespace troupe {

/// `get` timed out, or `try_get` found no item (Ray's `Empty`).
class queue_empty : public error {
public:
  explicit queue_empty(const std::string& what) : error(error_kind::timeout, what) {}
};

/// `put` timed out on a full queue, or a batch did not fit (Ray's `Full`).
class queue_full : public error {
public:
  explicit queue_full(const std::string& what) : error(error_kind::timeout, what) {}
};

namespace detail {

/// What a queue actor gives for a get: an item's bytes, or none (`ok` false).
struct queue_take {
  bool ok = false;
  std::vector<char> bytes;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, queue_take& x) {
    return f(caf::meta::type_name("troupe.queue_take"), x.ok, x.bytes);
  }
};

/// The actor behind `queue<T>`: encoded items, first in first out. Waiting
/// calls (`put` on a full queue, `get` on an empty one) are coroutines that
/// suspend on a condition; a timeout in microseconds below 0 waits for ever.
class queue_actor {
public:
  queue_actor(std::int64_t maxsize, std::string item_type);

  async<bool> put(std::vector<char> item, std::int64_t timeout_us);
  async<queue_take> get(std::int64_t timeout_us);
  bool try_put(std::vector<char> item);
  queue_take try_get();
  /// Puts all of `items` or, when they do not all fit, none.
  bool put_batch(std::vector<std::vector<char>> items);
  /// Takes up to `max` items, without waiting.
  std::vector<std::vector<char>> get_batch(std::int64_t max);
  std::int64_t size() const;
  std::int64_t maxsize() const;
  std::string item_type() const;

private:
  bool full() const;

  std::int64_t maxsize_;
  std::string item_type_;
  std::deque<std::vector<char>> items_;
  condition not_empty_;
  condition not_full_;
};

/// Creates a queue actor for items of type `item_type`.
actor_handle<queue_actor> create_queue(std::int64_t maxsize, std::string_view item_type,
                                       const actor_options& options);
/// Finds the queue actor named `name`; throws `argument_type_error` if its
/// items are not of type `item_type`.
actor_handle<queue_actor> find_queue(const std::string& name, const std::string& name_space,
                                     std::string_view item_type);
[[noreturn]] void throw_empty_queue_handle();

std::int64_t to_micros(std::chrono::nanoseconds timeout);

} // namespace detail

/// A handle to a distributed queue of `T` (see the top of this header).
/// Copies name the same queue; it lives while a handle does (or, with
/// `actor_options::detached`, until `shutdown`).
template <class T>
class queue {
public:
  /// An empty handle (for deserialization); use the other constructor.
  queue() = default;

  /// Creates a queue of at most `maxsize` items (0: no bound). `options`
  /// place its actor; a `name` lets `queue<T>::find` reach it from elsewhere.
  explicit queue(std::int64_t maxsize, const actor_options& options = {})
      : actor_(detail::create_queue(maxsize, detail::codec<T>::name, options)) {}

  /// Returns the queue named `name`. Throws `error` (no_such_actor) if there
  /// is none, `argument_type_error` if its items are not `T`s.
  static queue find(const std::string& name, const std::string& name_space = "") {
    return queue{detail::find_queue(name, name_space, detail::codec<T>::name)};
  }

  /// Appends `item`, waiting while the queue is full.
  void put(const T& item) { put_for(item, -1); }

  /// Appends `item`; throws `queue_full` if it is still full after `timeout`.
  template <class Rep, class Period>
  void put(const T& item, std::chrono::duration<Rep, Period> timeout) {
    put_for(item, detail::to_micros(timeout));
  }

  /// Appends `item` if there is room; returns whether it did.
  bool try_put(const T& item) {
    return troupe::get(actor().task(&detail::queue_actor::try_put)
                         .remote(detail::to_bytes(item)));
  }

  /// Appends all `items` if they fit, else none and throws `queue_full`.
  void put_batch(const std::vector<T>& items) {
    std::vector<std::vector<char>> encoded;
    encoded.reserve(items.size());
    for (auto& x : items)
      encoded.push_back(detail::to_bytes(x));
    if (!troupe::get(actor().task(&detail::queue_actor::put_batch).remote(encoded)))
      throw queue_full("troupe::queue: no room for a batch of "
                       + std::to_string(items.size()) + " items");
  }

  /// Takes the first item, waiting while the queue is empty.
  T get() { return get_for(-1); }

  /// Takes the first item; throws `queue_empty` if none came in `timeout`.
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) {
    return get_for(detail::to_micros(timeout));
  }

  /// Takes the first item if there is one.
  std::optional<T> try_get() {
    auto taken = troupe::get(actor().task(&detail::queue_actor::try_get).remote());
    if (!taken.ok)
      return std::nullopt;
    return detail::from_bytes<T>(taken.bytes);
  }

  /// Takes up to `max` items now (fewer when fewer are there).
  std::vector<T> get_batch(std::size_t max) {
    auto taken = troupe::get(actor().task(&detail::queue_actor::get_batch)
                               .remote(static_cast<std::int64_t>(max)));
    std::vector<T> out;
    out.reserve(taken.size());
    for (auto& b : taken)
      out.push_back(detail::from_bytes<T>(b));
    return out;
  }

  /// Returns how many items it holds.
  [[nodiscard]] std::size_t size() const {
    return static_cast<std::size_t>(
      troupe::get(actor().task(&detail::queue_actor::size).remote()));
  }
  [[nodiscard]] bool empty() const { return size() == 0; }
  /// Returns its bound (0: none).
  [[nodiscard]] std::int64_t maxsize() const {
    return troupe::get(actor().task(&detail::queue_actor::maxsize).remote());
  }
  [[nodiscard]] bool full() const {
    auto m = maxsize();
    return m > 0 && static_cast<std::int64_t>(size()) >= m;
  }

  /// Kills its actor: waiting and later calls fail with `actor_died_error`.
  void shutdown() { troupe::kill(actor()); }

  /// Returns the actor that holds the items.
  [[nodiscard]] const actor_handle<detail::queue_actor>& actor() const {
    if (!actor_.valid())
      detail::throw_empty_queue_handle();
    return actor_;
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, queue& x) {
    return f(caf::meta::type_name("troupe.queue"), x.actor_);
  }

private:
  explicit queue(actor_handle<detail::queue_actor> a) : actor_(std::move(a)) {}

  void put_for(const T& item, std::int64_t timeout_us) {
    auto ok = troupe::get(actor().task(&detail::queue_actor::put)
                            .remote(detail::to_bytes(item), timeout_us));
    if (!ok)
      throw queue_full("troupe::queue: still full after "
                       + std::to_string(timeout_us / 1000) + " ms");
  }

  T get_for(std::int64_t timeout_us) {
    auto taken =
      troupe::get(actor().task(&detail::queue_actor::get).remote(timeout_us));
    if (!taken.ok)
      throw queue_empty("troupe::queue: still empty after "
                        + std::to_string(timeout_us / 1000) + " ms");
    return detail::from_bytes<T>(taken.bytes);
  }

  actor_handle<detail::queue_actor> actor_;
};

} // namespace troupe
