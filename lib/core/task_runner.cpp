#include "lib/core/task_runner.hpp"

#include "lib/core/cancellation.hpp"

#include <chrono>
#include <cstdlib>
#include <cxxabi.h>
#include <thread>
#include <typeinfo>
#include <utility>

#include <caf/all.hpp>

#include "lib/core/client.hpp"
#include "lib/core/executor.hpp"
#include "lib/core/worker_output.hpp"
#include "lib/protocol/handles.hpp"
#include "troupe/actor.hpp"

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
thread_local bool exit_flag = false;

/// An async actor by default runs as many calls at once as Ray's.
constexpr std::uint32_t async_actor_concurrency = 1000;

/// Runs a factory, starts the instance's host and tells the control store
/// where the actor is (its handle travels in a CAF message, which makes
/// proxies for it, unlike bytes of ours).
void create_actor(client& c, const function_entry& fn, schema::TaskSpec::Reader spec,
                  std::vector<raw_value>& args) {
  std::shared_ptr<light_actor_info> light;
  if (spec.getSharedActor()) {
    light = std::make_shared<light_actor_info>();
    light->id = read_object_id(spec.getActorId());
    light->restarts = spec.getRestarts();
    for (auto r : spec.getResources())
      light->resources[r.getName()] = r.getAmount();
  } else {
    c.actor_restarted = spec.getRestarts() > 0;
  }
  std::shared_ptr<void> instance;
  {
    // The constructor may ask whether it is a rebuild.
    light_call_scope scope{light.get()};
    try {
      instance = fn.create(fn, args.data(), args.size());
    } catch (...) {
      if (light) // its slot on this host is free again
        caf::anon_send(c.node().scheduler, release_atom::value, c.worker_id,
                       light->resources, std::uint32_t{1});
      throw;
    }
  }
  bool async = class_is_async(fn.class_name);
  auto limit = spec.getMaxConcurrency();
  if (limit == 0)
    limit = async ? async_actor_concurrency : 1;
  auto host = spawn_actor_host(c.system(), c, std::move(instance), limit, async,
                               std::move(light));
  caf::anon_send(c.control_store(), actor_up_atom::value,
                 read_object_id(spec.getActorId()), host, c.worker_id, c.address(), c.core());
}

/// Writes into `out` that the task named `name` failed.
void write_failure(schema::TaskResult::Builder out, error_kind kind,
                   const std::string& name, std::string type, std::string msg) {
  write_error(out.initError(), {kind, name, std::move(type), std::move(msg)});
}

/// Runs a generator to its end, sending each item as it comes; counts them
/// in `items`. Ends early, as if returned, when the consumer dropped the
/// stream.
void run_generator(client& c, const call_info& call, coroutine_call& co,
                   std::uint64_t& items) {
  auto& credits = producer_credits();
  auto give_up = [&] { return c.closing.load(); };
  for (;;) {
    // The next item may be made when the consumer took all but N - 1.
    if (call.backpressure > 0 && items + 1 > call.backpressure) {
      if (!credits.wait(call.return_id, items + 1 - call.backpressure, give_up))
        return;
    } else if (credits.dropped(call.return_id)) {
      return;
    }
    co.handle().resume();
    if (co.handle().done())
      return;
    encoded_value item;
    if (!co.take_item(item))
      throw error(error_kind::runtime,
                  "the generator suspended on an awaitable troupe does not resume");
    emit_item(c, call, ++items, item);
  }
}

} // namespace

call_info info_of(schema::TaskSpec::Reader spec, const core_actor& caller) {
  call_info out;
  out.task_id = spec.getTaskId();
  out.name = spec.getName();
  out.return_id = read_object_id(spec.getReturnId());
  for (auto id : spec.getExtraReturnIds())
    out.extra_ids.push_back(read_object_id(id));
  out.backpressure = spec.getBackpressure();
  out.caller = caller;
  return out;
}

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
  } catch (const lost_value& e) {
    // Its owner may rebuild it and run this task again.
    write_failure(out, error_kind::object_lost, name, "", std::string{"argument "} + e.what());
    write_object_id(out.initLostArgument(), e.id());
    return nullptr;
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

void write_current_error(schema::TaskResult::Builder out, const std::string& name) {
  try {
    throw;
  } catch (const task_error& e) {
    // A task whose `get` failed fails with the same cause.
    write_error(out.initError(), {error_kind::task_failed, e.task_name(),
                                  e.exception_type(), e.message()});
  } catch (const error& e) {
    auto info = error_info::from(e);
    if (info.task_name.empty())
      info.task_name = name;
    write_error(out.initError(), info);
  } catch (const std::exception& e) {
    write_failure(out, error_kind::task_failed, name, current_exception_type(), e.what());
  } catch (...) {
    write_failure(out, error_kind::task_failed, name, current_exception_type(), "");
  }
}

bool invoke_task(client& c, const function_entry& fn, void* instance,
                 schema::TaskSpec::Reader spec, std::vector<raw_value>& args,
                 call_output& result, schema::TaskResult::Builder out,
                 const std::string& name) {
  // The client knows it runs a task (`in_task`) only while the call runs.
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
      codec<unit_value>::encode(unit_value{}, result.value);
      break;
    }
  } catch (...) {
    c.in_task = false;
    write_current_error(out, name);
    return false;
  }
  c.in_task = false;
  return true;
}

void write_result(client& c, const call_info& call, call_output& result,
                  schema::TaskResult::Builder out) {
  if (auto fwd = std::exchange(result.forward, nullptr)) {
    auto x = ref_id(*fwd);
    c.park_forward(std::move(fwd));
    caf::anon_send(c.core(), forward_atom::value,
                   forward_request{call.task_id, x, call.caller});
    out.setTaskId(0);
    write_value(out.initValue(), {});
    return;
  }
  try {
    if (result.extra.size() != call.extra_ids.size())
      throw error(error_kind::protocol, "the call returned " +
                                            std::to_string(result.extra.size() + 1) +
                                            " values, its caller expects " +
                                            std::to_string(call.extra_ids.size() + 1));
    // Built apart first: a value that does not fit fails the call whole.
    std::vector<stored_value> extra;
    for (std::size_t i = 0; i < call.extra_ids.size(); ++i)
      extra.push_back(c.store_value(result.extra[i], call.extra_ids[i]));
    write_value(out.initValue(), c.store_value(result.value, call.return_id));
    auto list = out.initExtraValues(static_cast<unsigned>(extra.size()));
    for (unsigned i = 0; i < extra.size(); ++i)
      write_value(list[i], extra[i]);
    lend_nested(c, call.caller, call.return_id, result.value, call.extra_ids, result.extra,
                out);
  } catch (const error& e) {
    auto info = error_info::from(e);
    info.task_name = call.name;
    write_error(out.initError(), info);
  }
}

bool run_coroutine(client& c, const call_info& call, call_output& result,
                   schema::TaskResult::Builder out) {
  auto co = std::move(result.coroutine);
  std::uint64_t items = 0;
  bool ok = true;
  c.in_task = true;
  try {
    if (co->streams()) {
      producer_credits().open(call.return_id);
      run_generator(c, call, *co, items);
    } else {
      co->handle().resume(); // its co_awaits wait on this thread
      if (!co->handle().done())
        throw error(error_kind::runtime,
                    "the coroutine suspended on an awaitable troupe does not resume");
    }
    co->take_result(result);
  } catch (...) {
    write_current_error(out, call.name);
    ok = false;
  }
  c.in_task = false;
  if (co->streams()) {
    producer_credits().close(call.return_id);
    out.setItemCount(items);
  }
  return ok;
}

bool skip_cancelled(schema::TaskSpec::Reader spec, schema::TaskResult::Builder out,
                    const core_actor& caller) {
  if (!any_cancels())
    return false;
  task_key key{caller.address(), spec.getTaskId()};
  if (!is_cancelled(key))
    return false;
  forget_cancel(key);
  write_failure(out, error_kind::task_cancelled, spec.getName(), "",
                "cancelled by troupe::cancel before it started");
  return true;
}

void run_task(client& c, void* instance, schema::TaskSpec::Reader spec,
              const std::shared_ptr<const std::vector<char>>& batch,
              schema::TaskResult::Builder out, const core_actor& caller) {
  out.setTaskId(spec.getTaskId());
  if (skip_cancelled(spec, out, caller))
    return;
  running_task running{caller, spec.getTaskId(), spec.getJobId()};
  std::string name = spec.getName();
  note_output_source(spec.getJobId(), spec.getTaskId(), name, instance != nullptr);
  std::vector<raw_value> args;
  auto* fn = prepare_task(c, instance, spec, batch, args, out, name);
  if (!fn)
    return;
  call_output result;
  if (!invoke_task(c, *fn, instance, spec, args, result, out, name))
    return;
  // The views keep their bytes (a batch, an object in the store) alive:
  // they go before the result is stored.
  args.clear();
  auto call = info_of(spec, caller);
  if (result.coroutine && !run_coroutine(c, call, result, out))
    return;
  write_result(c, call, result, out);
}

bool exit_requested() noexcept {
  return exit_flag;
}

void clear_exit_request() noexcept {
  exit_flag = false;
}

void end_worker_soon() {
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::_Exit(0);
  }).detach();
}

} // namespace troupe::detail

namespace troupe {

void exit_actor() {
  detail::exit_flag = true;
}

bool was_current_actor_restarted() {
  if (auto* light = detail::current_light_actor())
    return light->restarts > 0;
  auto* c = detail::client::try_get();
  return c != nullptr && c->actor_restarted.load();
}

} // namespace troupe
