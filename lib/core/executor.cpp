#include "lib/core/executor.hpp"

#include <chrono>
#include <utility>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "lib/common/process_metrics.hpp"
#include "lib/core/client.hpp"
#include "lib/core/coroutine_host.hpp"
#include "lib/core/stream_producer.hpp"
#include "lib/core/task_runner.hpp"
#include "lib/core/worker_output.hpp"
#include "lib/protocol/capnp_codec.hpp"
#include "lib/protocol/handles.hpp"

namespace troupe::detail {

namespace {

struct executor_state {
  std::shared_ptr<void> instance; ///< the actor it hosts, if any
  std::shared_ptr<const light_actor_info> light; ///< when it is a light actor
  static inline const char* name = "troupe.executor";
};

thread_local const light_actor_info* current_light = nullptr;

/// About the words of one result with a small value (ids, name, timings).
constexpr std::size_t result_words = 32;

/// Sends a ResultBatch to the caller: a light actor's through the
/// process's result outbox, with the results of its other light actors.
void send_results(executor_actor::stateful_pointer<executor_state> self, client& c,
                  const core_actor& caller, std::vector<char> batch) {
  if (self->state.light && caller && c.result_outbox())
    self->send(c.result_outbox(), done_atom::value, caller, std::move(batch));
  else
    self->send(caller, done_atom::value, std::move(batch));
}

executor_actor::behavior_type
executor_fn(executor_actor::stateful_pointer<executor_state> self, client* c,
            std::shared_ptr<void> instance, std::shared_ptr<const light_actor_info> light) {
  self->state.instance = std::move(instance);
  self->state.light = std::move(light);
  return {
    [self, c](push_atom, std::vector<char>& bytes) {
      auto batch = std::make_shared<const std::vector<char>>(std::move(bytes));
      // Tasks come from submitters' core actors: results go back there.
      auto sender = handle_cast<core_actor>(self->current_sender());
      try {
        message_reader reader{*batch};
        auto tasks = reader.root<schema::TaskBatch>().getTasks();
        // Results go out in small batches: right after a slow task, so the
        // submitter never waits for a whole batch of them.
        using clock = std::chrono::steady_clock;
        auto n = tasks.size();
        std::size_t sent = 0;
        auto out = std::make_unique<capnp::MallocMessageBuilder>(
          first_segment_words(n, result_words));
        auto list = out->initRoot<schema::ResultBatch>().initResults(n);
        auto flush_from = [&](std::size_t upto) {
          if (upto == sent)
            return;
          capnp::MallocMessageBuilder part{first_segment_words(upto - sent, result_words)};
          auto plist = part.initRoot<schema::ResultBatch>().initResults(
            static_cast<unsigned>(upto - sent));
          for (std::size_t i = sent; i < upto; ++i)
            plist.setWithCaveats(static_cast<unsigned>(i - sent), list[i].asReader());
          sync_worker_output(); // a task's output reaches its driver before its result
          send_results(self, *c, sender, to_bytes(part));
          sent = upto;
        };
        for (unsigned i = 0; i < n; ++i) {
          auto start = clock::now();
          light_call_scope scope{self->state.light.get()};
          run_task(*c, self->state.instance.get(), tasks[i], batch, list[i], sender);
          settle_borrows(*c); // before the caller may let go of what it lent
          auto took = clock::now() - start;
          list[i].setExecNanos(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()));
          observe_task(tasks[i].getName().cStr(), std::chrono::duration<double>(took).count(),
                       list[i].asReader().isError());
          if (took > std::chrono::microseconds(200) || exit_requested())
            flush_from(i + 1);
          if (exit_requested()) {
            if (auto& light = self->state.light)
              end_light_actor(*c, *light); // its host goes on
            else
              end_worker_soon();
            // No call after this one runs. Not a normal exit for a light
            // actor: the router of a concurrent one, linked, goes with it.
            self->quit(self->state.light ? caf::exit_reason::user_shutdown
                                         : caf::exit_reason::normal);
            return;
          }
        }
        if (sent == 0) {
          sync_worker_output();
          send_results(self, *c, sender, to_bytes(*out));
        } else {
          flush_from(n);
        }
      } catch (const std::exception& e) {
        spdlog::error("dropped a malformed task batch: {}", e.what());
      }
    },
  };
}

} // namespace

executor_actor spawn_executor(caf::actor_system& sys, client& c) {
  return sys.spawn<caf::detached>(executor_fn, &c, std::shared_ptr<void>{}, nullptr);
}

const light_actor_info* current_light_actor() noexcept {
  return current_light;
}

light_call_scope::light_call_scope(const light_actor_info* actor) noexcept
  : before_(std::exchange(current_light, actor)) {
}

light_call_scope::~light_call_scope() {
  current_light = before_;
}

void end_light_actor(client& c, const light_actor_info& actor) {
  clear_exit_request();
  // Told a little later, as a process actor's worker ends: the result of
  // its last call may travel a direct connection to its caller, the death
  // goes through the control store, and the result must come first.
  caf::delayed_anon_send(c.control_store(), std::chrono::milliseconds(200),
                         actor_exit_atom::value, actor.id, actor.restarts,
                         std::string{"it ended itself (troupe::exit_actor)"});
}

void release_slot_on_exit(client& c, caf::abstract_actor& host,
                          std::shared_ptr<const light_actor_info> actor) {
  host.attach_functor([&c, actor](const caf::error&) {
    caf::anon_send(c.node().scheduler, release_atom::value, c.worker_id, actor->resources,
                   std::uint32_t{1});
  });
}

/// Returns each task of a batch as a batch of its own.
std::vector<std::vector<char>> split_batch(const std::vector<char>& bytes) {
  std::vector<std::vector<char>> out;
  try {
    message_reader reader{bytes};
    auto tasks = reader.root<schema::TaskBatch>().getTasks();
    if (tasks.size() <= 1)
      return {bytes};
    for (auto t : tasks) {
      capnp::MallocMessageBuilder b{first_segment_words(1, t.totalSize().wordCount + 2)};
      b.initRoot<schema::TaskBatch>().initTasks(1).setWithCaveats(0, t);
      out.push_back(to_bytes(b));
    }
  } catch (const std::exception&) {
    return {bytes}; // the executor reports what is wrong with it
  }
  return out;
}

/// Routes each method call to the next of `executors` (an actor with
/// max_concurrency > 1). Each part keeps the caller as its sender, so
/// results go straight back to it.
executor_actor::behavior_type router_fn(executor_actor::pointer self,
                                        std::vector<executor_actor> executors) {
  for (auto& e : executors)
    self->link_to(e);
  return {
    [self, executors, next = std::size_t{0}](push_atom, std::vector<char>& bytes) mutable {
      // One call per executor: a batch would run its calls one by one.
      auto sender = self->current_sender();
      for (auto& one : split_batch(bytes)) {
        auto& target = executors[next++ % executors.size()];
        handle_cast<caf::abstract_actor*>(target)->enqueue(
          caf::make_mailbox_element(sender, caf::make_message_id(), {}, push_atom::value,
                                    std::move(one)),
          self->context());
      }
    },
  };
}

executor_actor spawn_actor_host(caf::actor_system& sys, client& c,
                                std::shared_ptr<void> instance,
                                std::uint32_t max_concurrency, bool async,
                                std::shared_ptr<const light_actor_info> light) {
  executor_actor host;
  if (async)
    host = spawn_coroutine_host(sys, c, std::move(instance), max_concurrency, light);
  else if (max_concurrency <= 1 && light)
    host = sys.spawn(executor_fn, &c, std::move(instance), light); // the shared pool
  else if (max_concurrency <= 1)
    return sys.spawn<caf::detached>(executor_fn, &c, std::move(instance), nullptr);
  if (!host) {
    std::vector<executor_actor> executors;
    for (std::uint32_t i = 0; i < max_concurrency; ++i)
      executors.push_back(sys.spawn<caf::detached>(executor_fn, &c, instance, light));
    host = sys.spawn(router_fn, std::move(executors));
  }
  if (light) {
    // Its calls come to this process's core, which finds it in the light
    // directory: listed before anyone knows of it (the caller sends
    // actor_up after this), gone when it ends.
    auto* self = handle_cast<caf::abstract_actor*>(host);
    c.light_actors().add(self->id(), handle_cast<caf::strong_actor_ptr>(host));
    self->attach_functor(
      [&c, id = self->id()](const caf::error&) { c.light_actors().remove(id); });
    release_slot_on_exit(c, *self, std::move(light));
  }
  return host;
}

} // namespace troupe::detail
