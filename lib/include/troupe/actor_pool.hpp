#pragma once

// Work over a fixed set of actors (Ray's `ray.util.ActorPool`): each value
// goes to an idle actor, the others wait their turn, and results come back
// in submission order (`get_next`) or as they finish (`get_next_unordered`).
//
//     std::vector<troupe::actor_handle<model>> actors = ...;
//     troupe::actor_pool<model, double> pool(actors);
//     auto score = [](const troupe::actor_handle<model>& a, int x) {
//       return a.task(&model::score).remote(x);
//     };
//     for (int x : inputs)
//       pool.submit(score, x);
//     while (pool.has_next())
//       use(pool.get_next());
//     auto all = pool.map(score, inputs);           // or in one go
//
// It keeps going when an actor dies. An actor that restarts
// (`max_restarts`) stays in the pool; one dead for good leaves it. The call
// lost with it goes to another actor, up to `max_item_retries` times; then
// `get_next` throws its `actor_died_error`. With `max_task_retries` set on
// the actors, the core sends lost calls again itself and the pool sees
// nothing. The pool is the submitter's own object: use it from one thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "troupe/actor.hpp"
#include "troupe/errors.hpp"
#include "troupe/get.hpp"

namespace troupe {

/// How an actor pool treats calls lost with their actor.
struct actor_pool_options {
  /// How often one value is sent again after its actor died with the call.
  int max_item_retries = 3;
};

/// Work over a fixed set of actors of class `C` whose calls give `R`s.
template <class C, class R>
class actor_pool {
public:
  using actor_type = actor_handle<C>;
  /// A call of one value on an actor: the value is bound in.
  using call_type = std::function<object_ref<R>(const actor_type&)>;

  explicit actor_pool(std::vector<actor_type> actors, actor_pool_options options = {})
      : idle_(actors.begin(), actors.end()), size_(actors.size()), options_(options) {
    if (actors.empty())
      throw std::invalid_argument("troupe::actor_pool: no actors given");
  }

  /// Sends `fn(actor, value)` to an idle actor, or queues it until one is
  /// idle. `fn` returns the call's `object_ref<R>`.
  template <class F, class V>
  void submit(F fn, V value) {
    pending_.push_back({next_index_++, [fn = std::move(fn), value = std::move(value)](
                                          const actor_type& a) { return fn(a, value); }});
    dispatch();
  }

  /// Returns whether results are still to be taken.
  [[nodiscard]] bool has_next() const {
    return !pending_.empty() || !flying_.empty() || !finished_.empty();
  }

  /// Returns whether an actor is idle (a `submit` would start at once).
  [[nodiscard]] bool has_free() const { return !idle_.empty() && pending_.empty(); }

  /// Returns how many actors the pool holds (those dead for good left it).
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Returns the result of the oldest value not returned yet, waiting for
  /// it. Rethrows the call's error.
  R get_next() { return next_ordered(std::nullopt); }

  /// As `get_next`, but throws `timeout_error` after `timeout` (nothing is
  /// lost: a later `get_next` returns it).
  template <class Rep, class Period>
  R get_next(std::chrono::duration<Rep, Period> timeout) {
    return next_ordered(clock::now() + timeout);
  }

  /// Returns the result that finishes first.
  R get_next_unordered() { return next_unordered(std::nullopt); }

  template <class Rep, class Period>
  R get_next_unordered(std::chrono::duration<Rep, Period> timeout) {
    return next_unordered(clock::now() + timeout);
  }

  /// Submits every value and returns their results in order.
  template <class F, class Values>
  std::vector<R> map(F fn, const Values& values) {
    return map_with(fn, values, [this] { return get_next(); });
  }

  /// Submits every value and returns their results as they finished.
  template <class F, class Values>
  std::vector<R> map_unordered(F fn, const Values& values) {
    return map_with(fn, values, [this] { return get_next_unordered(); });
  }

  /// Adds an actor, idle.
  void push(actor_type actor) {
    idle_.push_back(std::move(actor));
    ++size_;
    dispatch();
  }

  /// Takes an idle actor out of the pool, if there is one.
  std::optional<actor_type> pop_idle() {
    if (idle_.empty())
      return std::nullopt;
    auto a = std::move(idle_.front());
    idle_.pop_front();
    --size_;
    return a;
  }

private:
  using clock = std::chrono::steady_clock;
  using until_type = std::optional<clock::time_point>;

  struct job {
    std::uint64_t index;
    call_type call;
    int retries = 0;
  };
  struct flight {
    job work;
    actor_type actor;
    object_ref<R> ref;
  };

  template <class F, class Values, class Take>
  std::vector<R> map_with(F& fn, const Values& values, Take take) {
    std::size_t n = 0;
    for (auto& v : values) {
      submit(fn, v);
      ++n;
    }
    std::vector<R> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(take());
    return out;
  }

  void dispatch() {
    while (!idle_.empty() && !pending_.empty()) {
      auto a = std::move(idle_.front());
      idle_.pop_front();
      auto work = std::move(pending_.front());
      pending_.pop_front();
      auto ref = work.call(a);
      auto index = work.index;
      flying_.emplace(index, flight{std::move(work), std::move(a), std::move(ref)});
    }
  }

  /// Takes the finished call `index`: its actor goes back to idle, its ref
  /// to `finished_`; a call lost with its actor goes to another one.
  void settle(std::uint64_t index) {
    auto node = flying_.extract(index);
    auto& f = node.mapped();
    try {
      (void)troupe::get(f.ref);
    } catch (const actor_died_error& e) {
      if (e.restarting())
        idle_.push_back(f.actor); // calls wait for its new instance
      else
        --size_;
      if (++f.work.retries <= options_.max_item_retries) {
        pending_.push_front(std::move(f.work));
        dispatch();
        return;
      }
      finished_.emplace(index, std::move(f.ref));
      dispatch();
      return;
    } catch (...) { // the call's own error: `get_next` rethrows it
    }
    idle_.push_back(std::move(f.actor));
    finished_.emplace(index, std::move(f.ref));
    dispatch();
  }

  /// Waits until a call in flight finishes and settles it; throws
  /// `timeout_error` at `until`.
  void settle_one(until_type until, const std::vector<std::uint64_t>& among) {
    if (among.empty())
      throw actor_died_error("actor_pool",
                             "every actor of the pool died; " + std::to_string(pending_.size())
                               + " values were left");
    std::vector<object_ref<R>> refs;
    refs.reserve(among.size());
    for (auto i : among)
      refs.push_back(flying_.at(i).ref);
    auto w = until ? troupe::wait(refs, 1, left(*until)) : troupe::wait(refs, 1);
    if (w.ready.empty())
      throw timeout_error("troupe::actor_pool: no result came in time");
    for (std::size_t k = 0; k < refs.size(); ++k)
      if (refs[k] == w.ready.front()) {
        settle(among[k]);
        return;
      }
  }

  R next_ordered(until_type until) {
    for (;;) {
      skip_returned();
      if (auto it = finished_.find(next_return_); it != finished_.end()) {
        auto ref = std::move(it->second);
        finished_.erase(it);
        ++next_return_;
        return troupe::get(ref);
      }
      if (flying_.contains(next_return_))
        settle_one(until, {next_return_});
      else if (pending_.empty() && flying_.empty())
        throw std::logic_error("troupe::actor_pool: get_next with nothing submitted");
      else
        settle_one(until, flying_indexes());
    }
  }

  R next_unordered(until_type until) {
    for (;;) {
      if (!finished_.empty()) {
        auto ref = std::move(finished_.begin()->second);
        finished_.erase(finished_.begin());
        return troupe::get(ref);
      }
      if (pending_.empty() && flying_.empty())
        throw std::logic_error("troupe::actor_pool: get_next with nothing submitted");
      settle_one(until, flying_indexes());
    }
  }

  /// Moves the next index of `get_next` past values `get_next_unordered`
  /// already returned.
  void skip_returned() {
    while (next_return_ < next_index_ && !finished_.contains(next_return_)
           && !flying_.contains(next_return_) && !is_pending(next_return_))
      ++next_return_;
  }

  bool is_pending(std::uint64_t index) const {
    for (auto& j : pending_)
      if (j.index == index)
        return true;
    return false;
  }

  std::vector<std::uint64_t> flying_indexes() const {
    std::vector<std::uint64_t> out;
    out.reserve(flying_.size());
    for (auto& [i, f] : flying_)
      out.push_back(i);
    return out;
  }

  static clock::duration left(clock::time_point until) {
    auto d = until - clock::now();
    return d > clock::duration::zero() ? d : clock::duration::zero();
  }

  std::deque<actor_type> idle_;
  std::size_t size_;
  actor_pool_options options_;
  std::deque<job> pending_;
  std::map<std::uint64_t, flight> flying_;
  std::map<std::uint64_t, object_ref<R>> finished_;
  std::uint64_t next_index_ = 0;
  std::uint64_t next_return_ = 0;
};

} // namespace troupe
