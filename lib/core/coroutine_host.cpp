#include "lib/core/coroutine_host.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <exception>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "lib/common/process_metrics.hpp"
#include "lib/core/client.hpp"
#include "lib/core/task_runner.hpp"
#include "lib/core/worker_output.hpp"
#include "lib/protocol/handles.hpp"
#include "troupe/async.hpp"
#include "troupe/condition.hpp"

namespace troupe::detail {

class coroutine_host;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

/// The host whose thread this is, while it handles a message: what
/// `co_await` of a ref does depends on it.
thread_local coroutine_host* the_host = nullptr;

/// Results made while the host handles one message, one ResultBatch per
/// caller, sent when it is done (as the executor sends a batch's results).
class result_outbox {
public:
  /// Returns a new result for `caller`.
  schema::TaskResult::Builder add(const core_actor& caller) {
    for (auto& b : boxes_)
      if (b.caller == caller)
        return b.add();
    boxes_.emplace_back(caller);
    return boxes_.back().add();
  }

  /// Forgets the result `add` returned last for `caller` (a call that
  /// suspended: its result comes later).
  void drop_last(const core_actor& caller) {
    for (auto& b : boxes_)
      if (b.caller == caller && !b.results.empty())
        b.results.pop_back();
  }

  /// Sends each caller its results as `send(caller, bytes)`.
  template <class Send>
  void flush(Send&& send) {
    for (auto& b : boxes_) {
      if (b.results.empty())
        continue;
      // A message of their copies only: the orphans' space stays behind.
      capnp::MallocMessageBuilder out;
      auto list = out.initRoot<schema::ResultBatch>().initResults(
          static_cast<unsigned>(b.results.size()));
      for (unsigned i = 0; i < b.results.size(); ++i)
        list.setWithCaveats(i, b.results[i].getReader());
      send(b.caller, to_bytes(out));
    }
    boxes_.clear();
  }

private:
  struct box {
    explicit box(core_actor who)
        : caller(std::move(who))
        , msg(std::make_unique<capnp::MallocMessageBuilder>()) {}
    schema::TaskResult::Builder add() {
      results.push_back(msg->getOrphanage().newOrphan<schema::TaskResult>());
      return results.back().get();
    }
    core_actor caller;
    std::unique_ptr<capnp::MallocMessageBuilder> msg;
    std::vector<capnp::Orphan<schema::TaskResult>> results;
  };
  std::vector<box> boxes_;
};

} // namespace

/// See coroutine_host.hpp.
class coroutine_host {
public:
  client& client_of() noexcept { return c_; }

  coroutine_host(client& c, std::shared_ptr<void> instance, std::uint32_t limit,
                 coroutine_host_actor self)
      : c_(c)
      , instance_(std::move(instance))
      , limit_(std::max<std::uint32_t>(1, limit))
      , self_(std::move(self)) {}

  /// Starts the batch's calls, or queues those over the limit.
  void push(std::vector<char>& bytes, const core_actor& caller) {
    auto batch = std::make_shared<const std::vector<char>>(std::move(bytes));
    try {
      message_reader reader{*batch};
      auto tasks = reader.root<schema::TaskBatch>().getTasks();
      for (unsigned i = 0; i < tasks.size(); ++i) {
        if (queued_.empty() && calls_.size() < limit_)
          start(batch, tasks[i], caller);
        else
          queued_.push_back({batch, i, caller});
      }
    } catch (const std::exception& e) {
      spdlog::error("dropped a malformed task batch: {}", e.what());
    }
  }

  /// Resumes the coroutine parked under `token`.
  void resume(std::uint64_t token) {
    auto it = parked_.find(token);
    if (it == parked_.end())
      return; // its call ended meanwhile (its consumer dropped the stream)
    auto [id, h] = it->second;
    parked_.erase(it);
    auto cit = calls_.find(id);
    if (cit == calls_.end())
      return;
    auto& call = cit->second;
    --call.parked;
    bool in_flight;
    if (call.co->streams() && h == call.co->handle() &&
        producer_credits().dropped(call.info.return_id)) {
      finish(call, nullptr); // nobody reads its items: it ends as if it returned
      in_flight = false;
    } else {
      in_flight = step(id, call, h);
    }
    if (!in_flight) {
      if (call.parked > 0)
        std::erase_if(parked_, [id](const auto& p) { return p.second.first == id; });
      calls_.erase(cit);
    }
  }

  /// Parks `h`, a coroutine of the call running now (it awaits something).
  std::uint64_t park(std::coroutine_handle<> h) {
    if (!current_)
      throw error(error_kind::runtime, "co_await of a ref outside a call of the actor");
    return park_for(current_id_, *current_, h);
  }

  /// Forgets the token `park` just returned: the call goes on at once.
  void unpark(std::uint64_t token) {
    if (parked_.erase(token) > 0 && current_)
      --current_->parked;
  }

  std::function<void()> resumer(std::uint64_t token) const {
    return [self = self_, token] { caf::anon_send(self, resume_atom::value, token); };
  }

  /// Resumes the coroutine parked under `token` after `delay`, unless it
  /// was resumed before (then the token is gone and the message does nothing).
  void resume_after(std::uint64_t token, std::chrono::nanoseconds delay) const {
    caf::delayed_anon_send(self_, delay, resume_atom::value, token);
  }

  /// Ends a message: starts waiting calls that now have a slot and sends
  /// the results made.
  template <class Send>
  void end_of_message(Send&& send) {
    while (!queued_.empty() && calls_.size() < limit_) {
      auto q = std::move(queued_.front());
      queued_.pop_front();
      try {
        message_reader reader{*q.batch};
        start(q.batch, reader.root<schema::TaskBatch>().getTasks()[q.index], q.caller);
      } catch (const std::exception& e) {
        spdlog::error("dropped a malformed task: {}", e.what());
      }
    }
    outbox_.flush(send);
  }

private:
  /// A call in flight: its coroutine, started and not finished.
  struct running {
    call_info info;
    std::chrono::steady_clock::time_point began; ///< for troupe_task_duration_seconds
    std::unique_ptr<coroutine_call> co;
    std::uint64_t items = 0; ///< a generator's items sent so far
    std::size_t parked = 0;  ///< its coroutines parked (0 or 1)
  };

  /// A call waiting for a slot.
  struct queued {
    std::shared_ptr<const std::vector<char>> batch;
    unsigned index;
    core_actor caller;
  };

  void start(const std::shared_ptr<const std::vector<char>>& batch,
             schema::TaskSpec::Reader spec, const core_actor& caller) {
    auto out = outbox_.add(caller);
    out.setTaskId(spec.getTaskId());
    if (skip_cancelled(spec, out, caller))
      return;
    auto began = std::chrono::steady_clock::now();
    std::string name = spec.getName();
    note_output_source(spec.getJobId(), spec.getTaskId(), name, true);
    std::vector<raw_value> args;
    auto* fn = prepare_task(c_, instance_.get(), spec, batch, args, out, name);
    if (!fn)
      return;
    call_output result;
    if (!invoke_task(c_, *fn, instance_.get(), spec, args, result, out, name))
      return;
    args.clear(); // a coroutine's frame holds its own copies
    auto info = info_of(spec, caller);
    if (!result.coroutine) {
      write_result(c_, info, result, out); // a plain method: done
      settle_borrows(c_);
      observe_task(name, seconds_since(began), out.asReader().isError());
      return;
    }
    outbox_.drop_last(caller); // its result comes when it finishes
    running call;
    call.info = std::move(info);
    call.began = began;
    call.co = std::move(result.coroutine);
    if (call.co->streams())
      producer_credits().open(call.info.return_id);
    // Most coroutines end in their first step: only one still in flight
    // goes into the map.
    auto id = next_call_++;
    auto h = call.co->handle();
    if (step(id, call, h))
      calls_.emplace(id, std::move(call));
  }

  /// Runs call `id` from `h` until it suspends, yields or ends; returns
  /// whether it is still in flight (else its result is in the outbox).
  bool step(std::uint64_t id, running& call, std::coroutine_handle<> h) {
    current_ = &call;
    current_id_ = id;
    c_.in_task = true;
    h.resume();
    c_.in_task = false;
    current_ = nullptr;
    if (call.co->handle().done()) {
      finish(call, nullptr);
      return false;
    }
    encoded_value item;
    if (call.co->streams() && call.co->take_item(item)) {
      try {
        emit_item(c_, call.info, ++call.items, item);
      } catch (...) {
        --call.items;
        finish(call, std::current_exception());
        return false;
      }
      go_on_later(id, call);
      return true;
    }
    if (call.parked > 0)
      return true; // resumed when what it awaits is ready
    finish(call, std::make_exception_ptr(error(
                     error_kind::runtime,
                     "the coroutine suspended on an awaitable troupe does not resume")));
    return false;
  }

  /// A generator yielded: it goes on after the messages waiting for this
  /// thread, once its consumer is less than `backpressure` items behind.
  void go_on_later(std::uint64_t id, running& call) {
    auto token = park_for(id, call, call.co->handle());
    auto bp = call.info.backpressure;
    if (bp == 0 || call.items + 1 <= bp ||
        producer_credits().when(call.info.return_id, call.items + 1 - bp, resumer(token)))
      resumer(token)();
  }

  std::uint64_t park_for(std::uint64_t id, running& call, std::coroutine_handle<> h) {
    auto token = next_token_++;
    parked_.emplace(token, std::make_pair(id, h));
    ++call.parked;
    return token;
  }

  /// Puts the result of `call` (or `failure`) into the outbox; the caller
  /// forgets the call.
  void finish(running& call, std::exception_ptr failure) {
    auto out = outbox_.add(call.info.caller);
    out.setTaskId(call.info.task_id);
    call_output result;
    try {
      if (failure)
        std::rethrow_exception(failure);
      call.co->take_result(result);
      write_result(c_, call.info, result, out);
      settle_borrows(c_);
    } catch (...) {
      write_current_error(out, call.info.name);
    }
    // From its start to its end, the time it awaited included: its latency.
    observe_task(call.info.name, seconds_since(call.began), out.asReader().isError());
    if (call.co->streams()) {
      out.setItemCount(call.items);
      producer_credits().close(call.info.return_id);
    }
  }

  client& c_;
  std::shared_ptr<void> instance_;
  std::uint32_t limit_;
  coroutine_host_actor self_;
  std::deque<queued> queued_;
  std::unordered_map<std::uint64_t, running> calls_;
  /// Parked coroutines by token: (call, the coroutine to resume).
  std::unordered_map<std::uint64_t, std::pair<std::uint64_t, std::coroutine_handle<>>>
      parked_;
  std::uint64_t next_call_ = 1;
  std::uint64_t next_token_ = 1;
  running* current_ = nullptr;   ///< the call running now
  std::uint64_t current_id_ = 0; ///< its number
  result_outbox outbox_;
};

namespace {

struct host_state {
  std::unique_ptr<coroutine_host> host;
  std::shared_ptr<const light_actor_info> light; ///< when it is a light actor
  static inline const char* name = "troupe.coroutine_host";
};

using host_ptr = coroutine_host_actor::stateful_pointer<host_state>;

/// Runs `body` as the host of this thread, then ends the message.
template <class F>
void handle(host_ptr self, F&& body) {
  auto& host = *self->state.host;
  auto* before = std::exchange(the_host, &host);
  light_call_scope scope{self->state.light.get()};
  body(host);
  host.end_of_message([self](const core_actor& caller, std::vector<char> bytes) {
    sync_worker_output(); // output before results, as executors send them
    self->send(caller, done_atom::value, std::move(bytes));
  });
  the_host = before;
  if (exit_requested()) {
    if (auto& light = self->state.light)
      end_light_actor(host.client_of(), *light); // its host process goes on
    else
      end_worker_soon();
    self->quit(); // no call after this one runs
  }
}

coroutine_host_actor::behavior_type
host_fn(host_ptr self, client* c, std::shared_ptr<void> instance, std::uint32_t limit,
        std::shared_ptr<const light_actor_info> light) {
  self->state.host = std::make_unique<coroutine_host>(*c, std::move(instance), limit,
                                                      coroutine_host_actor{self});
  self->state.light = std::move(light);
  return {
      [self](push_atom, std::vector<char>& bytes) {
        // Calls come from submitters' core actors: results go back there.
        auto caller = handle_cast<core_actor>(self->current_sender());
        handle(self, [&](coroutine_host& h) { h.push(bytes, caller); });
      },
      [self](resume_atom, std::uint64_t token) {
        handle(self, [&](coroutine_host& h) { h.resume(token); });
      },
  };
}

} // namespace

executor_actor spawn_coroutine_host(caf::actor_system& sys, client& c,
                                    std::shared_ptr<void> instance,
                                    std::uint32_t max_concurrency,
                                    std::shared_ptr<const light_actor_info> light) {
  // A light actor's calls run on the pool; CAF runs one message of an actor
  // at a time, so its coroutines still never run at once.
  if (light)
    return sys.spawn(host_fn, &c, std::move(instance), max_concurrency, std::move(light));
  // Detached: the actor's own thread, which every coroutine of it runs on.
  return sys.spawn<caf::detached>(host_fn, &c, std::move(instance), max_concurrency,
                                  nullptr);
}

bool ref_await_ready(const ref_ptr& ref) {
  if (!ref)
    throw error(error_kind::object_lost, "co_await of an empty object_ref");
  auto& c = client::get();
  if (!the_host) {
    // A task or a plain actor: wait here, as `get` does.
    std::vector<bool> ready;
    c.wait({ref}, 1, std::nullopt, ready);
    return true;
  }
  return c.table().peek(ref_id(*ref)) != object_table::status::pending;
}

bool ref_await_suspend(const ref_ptr& ref, std::coroutine_handle<> h) {
  auto& host = *the_host;
  auto& c = client::get();
  auto id = ref_id(*ref);
  auto token = host.park(h);
  if (!c.table().when_ready(id, host.resumer(token))) {
    host.unpark(token);
    return false; // ready meanwhile: go on at once
  }
  if (id.owner != c.owner_id())
    caf::anon_send(c.core(), fetch_atom::value, id); // a borrowed ref: ask its owner
  return true;
}

std::function<void()> park_current_call(std::coroutine_handle<> h,
                                        std::optional<std::chrono::nanoseconds> timeout) {
  if (!the_host)
    throw error(error_kind::runtime,
                "troupe::condition: only a call of an async actor can wait on it");
  auto token = the_host->park(h);
  if (timeout)
    the_host->resume_after(token, *timeout);
  return the_host->resumer(token);
}

bool stream_await_ready(stream_handle&) {
  // Outside a host stream_next waits; in one, stream_await_suspend decides.
  return the_host == nullptr;
}

bool stream_await_suspend(stream_handle& s, std::coroutine_handle<> h) {
  auto& host = *the_host;
  auto token = host.park(h);
  // Woken by the item or by the end, whichever comes first (a second
  // resume of the token finds nothing).
  auto id = s.id();
  auto ack = [id](const stream_actor& producer, std::uint64_t taken) {
    caf::anon_send(producer, ack_atom::value, id, taken);
  };
  if (!client::get().table().when_next(id, host.resumer(token), ack)) {
    host.unpark(token);
    return false;
  }
  return true;
}

} // namespace troupe::detail
