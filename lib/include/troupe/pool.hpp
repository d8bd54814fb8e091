#pragma once

// A process pool on the cluster (Python's `multiprocessing.Pool`, as Ray's
// `ray.util.multiprocessing` runs it): any function registered with
// `TROUPE_REMOTE` is applied to every item of a range, in chunks of items,
// each chunk one task, at most `processes` chunks at once.
//
//     double cost(double x);
//     TROUPE_REMOTE(cost);
//
//     troupe::pool p;                                  // the cluster's CPUs
//     std::vector<double> ys = p.map(cost, xs);        // as std::transform
//     for (double y : p.imap_unordered(cost, xs, 16))  // as they finish
//       ...
//     auto r = p.apply_async(cost, 2.0);               // object_ref<double>
//
// An item whose call throws makes `map` (or the iteration) throw
// `pool_item_error`, which names the item's index, the exception's type and
// message; the chunks still running are cancelled.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "troupe/detail/value_bytes.hpp"
#include "troupe/errors.hpp"
#include "troupe/task.hpp"

namespace troupe {

/// An item's call threw in `pool::map` and its kin.
class pool_item_error : public task_error {
public:
  pool_item_error(std::size_t index, std::string function, std::string exception_type,
                  std::string message);

  /// Returns the index of the item (in the range given) whose call threw.
  [[nodiscard]] std::size_t index() const noexcept { return index_; }

  /// Returns "troupe::pool: item N: FUNCTION threw TYPE: MESSAGE".
  [[nodiscard]] const char* what() const noexcept override;

private:
  std::size_t index_;
  std::string what_;
};

/// How a pool runs.
struct pool_options {
  /// How many chunks run at once (0: the CPUs of the cluster's live nodes
  /// when the pool is made).
  std::size_t processes = 0;
  /// The options of each chunk's task (its CPUs, resources, strategy, retries).
  task_options task;
};

namespace detail {

/// One chunk of a map: the arguments of consecutive items, as bytes.
struct pool_chunk {
  std::string function;             ///< the registered name of the function
  std::uint64_t first = 0;          ///< the index of its first item
  std::uint32_t arity = 0;          ///< arguments per item
  std::vector<std::uint8_t> encodings; ///< each parameter's `encoding`
  std::vector<std::vector<char>> args; ///< item i's argument j at i * arity + j

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, pool_chunk& x) {
    return f(caf::meta::type_name("troupe.pool_chunk"), x.function, x.first, x.arity,
             x.encodings, x.args);
  }
};

/// What a chunk's task returns: its items' results, or where it failed.
struct pool_chunk_result {
  std::uint64_t first = 0;
  std::vector<std::vector<char>> values;
  bool failed = false;
  std::uint64_t failed_index = 0;
  std::string exception_type;
  std::string message;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, pool_chunk_result& x) {
    return f(caf::meta::type_name("troupe.pool_chunk_result"), x.first, x.values,
             x.failed, x.failed_index, x.exception_type, x.message);
  }
};

/// Runs the chunks of one map as tasks, at most `window` at once, and hands
/// out their results in order (`ordered`) or as they finish.
class pool_run {
public:
  pool_run(std::deque<pool_chunk> chunks, std::size_t window, task_options options,
           bool ordered);
  pool_run(pool_run&&) noexcept;
  pool_run& operator=(pool_run&&) noexcept;
  ~pool_run(); // cancels the chunks still running

  /// Returns the next chunk's results, waiting for it; nullopt once all
  /// came. Throws `pool_item_error` for an item that threw.
  std::optional<pool_chunk_result> next();

private:
  struct state;
  std::unique_ptr<state> s_;
};

/// The task of one chunk (`troupe::pool::chunk`): runs the function on each
/// item in turn, in this process, and stops at the first item that throws.
pool_chunk_result run_pool_chunk(pool_chunk chunk);

/// Returns the chunk size for `items` items on `processes` (Python's rule:
/// about four chunks per process).
std::size_t auto_chunksize(std::size_t items, std::size_t processes);

/// Returns the CPUs of the cluster's live nodes (at least 1).
std::size_t cluster_cpus();

/// Returns the registered name of function `fn`.
const std::string& registered_name(const void* fn);

template <class... Ps, class Tuple, std::size_t... Is>
void add_item_args(std::vector<std::vector<char>>& out, const Tuple& t,
                   std::index_sequence<Is...>) {
  (out.push_back(to_bytes(stored_t<Ps>(std::get<Is>(t)))), ...);
}

} // namespace detail

/// The results of `imap` and `imap_unordered`, as they come: a range to
/// iterate once, or `next()` by hand.
template <class R>
class pool_results {
public:
  explicit pool_results(detail::pool_run run) : run_(std::move(run)) {}

  /// Returns the next result, waiting for it; nullopt after the last.
  std::optional<R> next() {
    while (ready_.empty()) {
      auto chunk = run_.next();
      if (!chunk)
        return std::nullopt;
      for (auto& b : chunk->values)
        ready_.push_back(detail::from_bytes<R>(b));
    }
    R out = std::move(ready_.front());
    ready_.pop_front();
    return out;
  }

  class iterator {
  public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(pool_results* r) : r_(r) { ++*this; }
    const R& operator*() const { return *cur_; }
    iterator& operator++() {
      cur_ = r_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !cur_; }

  private:
    pool_results* r_ = nullptr;
    std::optional<R> cur_;
  };

  iterator begin() { return iterator{this}; }
  std::default_sentinel_t end() { return {}; }

private:
  detail::pool_run run_;
  std::deque<R> ready_;
};

/// A pool of `processes` concurrent chunks on the cluster (see the top).
class pool {
public:
  /// A pool as wide as the cluster's CPUs.
  pool() : pool(pool_options{}) {}
  /// A pool of `processes` concurrent chunks (0: the cluster's CPUs).
  explicit pool(std::size_t processes) : pool(pool_options{.processes = processes}) {}
  explicit pool(const pool_options& options);

  /// Returns how many chunks run at once.
  [[nodiscard]] std::size_t processes() const noexcept { return processes_; }

  /// Returns `fn` applied to every item, in order (`std::transform`'s
  /// result). `chunksize` items go to one task (0: about four chunks per
  /// process). Throws `pool_item_error` if an item's call threw.
  template <class R, class P, class Items>
  std::vector<R> map(R (*fn)(P), const Items& items, std::size_t chunksize = 0) {
    return collect(imap(fn, items, chunksize == 0 ? auto_size(items) : chunksize));
  }

  /// As `map`, for a function of several parameters: each item is a tuple
  /// (or pair) of its arguments.
  template <class R, class... Ps, class Items>
  std::vector<R> starmap(R (*fn)(Ps...), const Items& items, std::size_t chunksize = 0) {
    return collect(
      results<R, Ps...>(fn, items, chunksize == 0 ? auto_size(items) : chunksize, true));
  }

  /// As `map`, but returns the results as they come, in order.
  template <class R, class P, class Items>
  pool_results<R> imap(R (*fn)(P), const Items& items, std::size_t chunksize = 1) {
    return results<R, P>(fn, single(items), std::max<std::size_t>(1, chunksize), true);
  }

  /// As `imap`, but in the order the chunks finish.
  template <class R, class P, class Items>
  pool_results<R> imap_unordered(R (*fn)(P), const Items& items,
                                 std::size_t chunksize = 1) {
    return results<R, P>(fn, single(items), std::max<std::size_t>(1, chunksize), false);
  }

  /// Calls `fn(args...)` as one task of the pool's options; returns its ref.
  template <class R, class... Ps, class... As>
  auto apply_async(R (*fn)(Ps...), As&&... args) {
    return troupe::task(fn, options_.task).remote(std::forward<As>(args)...);
  }

private:
  template <class Items>
  std::size_t auto_size(const Items& items) const {
    return detail::auto_chunksize(std::ranges::distance(items), processes_);
  }

  /// Each item as a tuple of one argument.
  template <class Items>
  static auto single(const Items& items) {
    using item = std::ranges::range_value_t<Items>;
    std::vector<std::tuple<item>> out;
    if constexpr (std::ranges::sized_range<Items>)
      out.reserve(std::ranges::size(items));
    for (auto& x : items)
      out.emplace_back(x);
    return out;
  }

  template <class R>
  static std::vector<R> collect(pool_results<R>&& r) {
    std::vector<R> out;
    while (auto x = r.next())
      out.push_back(std::move(*x));
    return out;
  }

  template <class R, class... Ps, class Items>
  pool_results<R> results(R (*fn)(Ps...), const Items& items, std::size_t chunksize,
                          bool ordered) {
    static_assert(!std::is_void_v<R>, "troupe::pool: the function must return a value");
    static_assert(!detail::is_coroutine_v<R>,
                  "troupe::pool: the function must return a value, not a coroutine");
    const auto& name = detail::registered_name(reinterpret_cast<const void*>(fn));
    std::deque<detail::pool_chunk> chunks;
    std::uint64_t index = 0;
    for (auto& item : items) {
      if (chunks.empty() || chunks.back().args.size() >= chunksize * sizeof...(Ps)) {
        auto& c = chunks.emplace_back();
        c.function = name;
        c.first = index;
        c.arity = sizeof...(Ps);
        c.encodings = {static_cast<std::uint8_t>(detail::codec<detail::stored_t<Ps>>::enc)...};
      }
      detail::add_item_args<Ps...>(chunks.back().args, item,
                                   std::index_sequence_for<Ps...>{});
      ++index;
    }
    return pool_results<R>{
      detail::pool_run{std::move(chunks), processes_, options_.task, ordered}};
  }

  pool_options options_;
  std::size_t processes_;
};

} // namespace troupe
