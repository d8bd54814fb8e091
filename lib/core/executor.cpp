#include "lib/core/executor.hpp"

#include <chrono>
#include <utility>
#include <cstring>
#include <cxxabi.h>
#include <thread>
#include <typeinfo>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "lib/core/client.hpp"
#include "lib/protocol/capnp_codec.hpp"
#include "lib/protocol/handles.hpp"
#include "troupe/actor.hpp"
#include "troupe/detail/registry.hpp"

namespace troupe::detail {

namespace {

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out{
    abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free};
  return status == 0 && out ? out.get() : name;
}

/// Returns the demangled type of the exception being handled.
std::string current_exception_type() {
  auto* t = abi::__cxa_current_exception_type();
  return t ? demangle(t->name()) : "unknown";
}

/// Builds the reader's view of one argument.
raw_value arg_view(client& c, schema::Value::Reader v,
                   const std::shared_ptr<const std::vector<char>>& batch) {
  raw_value r;
  r.enc = read_encoding(v);
  r.type_hash = v.getTypeHash();
  if (v.isStored()) {
    stored_value s;
    s.enc = r.enc;
    s.type_hash = r.type_hash;
    s.in_store = true;
    s.offset = v.getStored().getOffset();
    s.size = v.getStored().getSize();
    s.node = v.getStored().getNode();
    s.id = read_object_id(v.getStored().getId());
    return c.view_stored(s);
  }
  auto name = v.getTypeName();
  r.type_name = std::string_view{name.cStr(), name.size()};
  auto d = v.getInline();
  r.data = reinterpret_cast<const std::byte*>(d.begin());
  r.size = d.size();
  r.keepalive = batch; // the bytes live in the batch message
  return r;
}

/// Set by `troupe::exit_actor()` in a method: the worker ends after it.
thread_local bool exit_requested = false;

/// Set by an async method's invoker (see `set_forward`).
thread_local ref_ptr forward_ref;

/// Runs a factory, starts the instance's host and tells the control store
/// where the actor is (its handle travels in a CAF message, which makes
/// proxies for it, unlike bytes of ours).
void create_actor(client& c, const function_entry& fn, schema::TaskSpec::Reader spec,
                  std::vector<raw_value>& args) {
  auto instance = fn.create(fn, args.data(), args.size());
  auto host = spawn_actor_host(c.system(), c, std::move(instance),
                               std::max<std::uint32_t>(1, spec.getMaxConcurrency()));
  caf::anon_send(c.control_store(), actor_up_atom::value,
                 read_object_id(spec.getActorId()), host, c.worker_id, c.address());
}

/// Writes into `out` that the task named `name` failed.
void write_failure(schema::TaskResult::Builder out, error_kind kind,
                   const std::string& name, std::string type, std::string msg) {
  write_error(out.initError(), {kind, name, std::move(type), std::move(msg)});
}

/// Looks up the task's function and reads its arguments into `args`;
/// returns the function, or nullptr after writing into `out` why the task
/// cannot run.
const function_entry* prepare_task(client& c, void* instance,
                                   schema::TaskSpec::Reader spec,
                                   const std::shared_ptr<const std::vector<char>>& batch,
                                   std::vector<raw_value>& args,
                                   schema::TaskResult::Builder out,
                                   const std::string& name) {
  auto* fn = find_function(std::string_view{spec.getFunction().cStr()});
  if (!fn) {
    write_failure(out, error_kind::unknown_function, name, "",
                  "no function named '" + std::string{spec.getFunction().cStr()} +
                      "' is registered in the worker's executable");
    return nullptr;
  }
  try {
    for (auto a : spec.getArgs())
      args.push_back(arg_view(c, a, batch));
  } catch (const std::exception& e) {
    write_failure(out, error_kind::protocol, name, "",
                  std::string{"bad argument: "} + e.what());
    return nullptr;
  }
  if (fn->kind == entry_kind::method && !instance) {
    write_failure(out, error_kind::unknown_function, name, "",
                  "method '" + fn->name + "' was sent to a worker that hosts no actor");
    return nullptr;
  }
  return fn;
}

/// Calls the task's function, method or factory with `args` into `result`;
/// returns false after writing into `out` how the call failed. The client
/// knows it runs a task (`in_task`) only while the call runs.
bool invoke_task(client& c, const function_entry& fn, void* instance,
                 schema::TaskSpec::Reader spec, std::vector<raw_value>& args,
                 encoded_value& result, schema::TaskResult::Builder out,
                 const std::string& name) {
  c.in_task = true;
  try {
    switch (fn.kind) {
    case entry_kind::function:
      fn.invoke(fn.fn, args.data(), args.size(), result);
      break;
    case entry_kind::method:
      fn.call(fn, instance, args.data(), args.size(), result);
      break;
    case entry_kind::factory:
      create_actor(c, fn, spec, args);
      codec<unit_value>::encode(unit_value{}, result);
      break;
    }
    c.in_task = false;
  } catch (const task_error& e) {
    // A task whose `get` failed fails with the same cause.
    c.in_task = false;
    write_error(out.initError(), {error_kind::task_failed, e.task_name(),
                                  e.exception_type(), e.message()});
    return false;
  } catch (const error& e) {
    c.in_task = false;
    auto info = error_info::from(e);
    if (info.task_name.empty())
      info.task_name = name;
    write_error(out.initError(), info);
    return false;
  } catch (const std::exception& e) {
    c.in_task = false;
    write_failure(out, error_kind::task_failed, name, current_exception_type(), e.what());
    return false;
  } catch (...) {
    c.in_task = false;
    write_failure(out, error_kind::task_failed, name, current_exception_type(), "");
    return false;
  }
  return true;
}

/// Writes the result of a task that ran into `out`: the value stored under
/// the task's return id or, for an async method (it called `set_forward`),
/// task id 0 while the core actor sends the result once the forwarded ref
/// has a value.
void write_result(client& c, schema::TaskSpec::Reader spec, encoded_value& result,
                  schema::TaskResult::Builder out, const core_actor& caller,
                  const std::string& name) {
  if (auto fwd = std::exchange(forward_ref, nullptr)) {
    auto x = ref_id(*fwd);
    c.park_forward(std::move(fwd));
    caf::anon_send(c.core(), forward_atom::value,
                   forward_request{spec.getTaskId(), x, caller});
    out.setTaskId(0);
    write_value(out.initValue(), {});
    return;
  }
  try {
    auto id = read_object_id(spec.getReturnId());
    write_value(out.initValue(), c.store_value(result, id));
  } catch (const error& e) {
    auto info = error_info::from(e);
    info.task_name = name;
    write_error(out.initError(), info);
  }
}

/// Runs one task and writes its result (or why it has none) into `out`.
/// An async method's result is sent later by the core actor: `out` then
/// carries task id 0, which no submitter uses.
void run_task(client& c, void* instance, schema::TaskSpec::Reader spec,
              const std::shared_ptr<const std::vector<char>>& batch,
              schema::TaskResult::Builder out, const core_actor& caller) {
  out.setTaskId(spec.getTaskId());
  std::string name = spec.getName();
  std::vector<raw_value> args;
  auto* fn = prepare_task(c, instance, spec, batch, args, out, name);
  if (!fn)
    return;
  encoded_value result;
  if (!invoke_task(c, *fn, instance, spec, args, result, out, name))
    return;
  // The views keep their bytes (a batch, an object in the store) alive:
  // they go before the result is stored.
  args.clear();
  write_result(c, spec, result, out, caller, name);
}

struct executor_state {
  std::shared_ptr<void> instance; ///< the actor it hosts, if any
  static inline const char* name = "troupe.executor";
};

executor_actor::behavior_type
executor_fn(executor_actor::stateful_pointer<executor_state> self, client* c,
            std::shared_ptr<void> instance) {
  self->state.instance = std::move(instance);
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
        auto out = std::make_unique<capnp::MallocMessageBuilder>();
        auto list = out->initRoot<schema::ResultBatch>().initResults(n);
        auto flush_from = [&](std::size_t upto) {
          if (upto == sent)
            return;
          capnp::MallocMessageBuilder part;
          auto plist = part.initRoot<schema::ResultBatch>().initResults(
            static_cast<unsigned>(upto - sent));
          for (std::size_t i = sent; i < upto; ++i)
            plist.setWithCaveats(static_cast<unsigned>(i - sent), list[i].asReader());
          self->send(sender, done_atom::value, to_bytes(part));
          sent = upto;
        };
        for (unsigned i = 0; i < n; ++i) {
          auto start = clock::now();
          run_task(*c, self->state.instance.get(), tasks[i], batch, list[i], sender);
          auto took = clock::now() - start;
          list[i].setExecNanos(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()));
          if (took > std::chrono::microseconds(200) || exit_requested)
            flush_from(i + 1);
          if (exit_requested) {
            // Let the last results leave, then end the worker: the node
            // reports the clean exit, and the actor's callers learn why.
            std::thread([] {
              std::this_thread::sleep_for(std::chrono::milliseconds(200));
              std::_Exit(0);
            }).detach();
            self->quit(); // no call after this one runs
            return;
          }
        }
        if (sent == 0) {
          self->send(sender, done_atom::value, to_bytes(*out));
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
  return sys.spawn<caf::detached>(executor_fn, &c, std::shared_ptr<void>{});
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
      capnp::MallocMessageBuilder b;
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
                                std::uint32_t max_concurrency) {
  if (max_concurrency <= 1)
    return sys.spawn<caf::detached>(executor_fn, &c, std::move(instance));
  std::vector<executor_actor> executors;
  for (std::uint32_t i = 0; i < max_concurrency; ++i)
    executors.push_back(sys.spawn<caf::detached>(executor_fn, &c, instance));
  return sys.spawn(router_fn, std::move(executors));
}

} // namespace troupe::detail

namespace troupe {

void exit_actor() {
  detail::exit_requested = true;
}

namespace detail {

void set_forward(ref_ptr ref) {
  forward_ref = std::move(ref);
}

} // namespace detail

} // namespace troupe
