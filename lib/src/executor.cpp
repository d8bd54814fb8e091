#include "lib/src/executor.hpp"

#include <chrono>
#include <cstring>
#include <cxxabi.h>
#include <typeinfo>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "lib/src/client.hpp"
#include "lib/src/core_actor.hpp"
#include "lib/src/protocol.hpp"
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
  r.enc = static_cast<encoding>(v.getEncoding());
  r.type_hash = v.getTypeHash();
  if (v.isStored()) {
    stored_value s;
    s.enc = r.enc;
    s.type_hash = r.type_hash;
    s.in_store = true;
    s.offset = v.getStored().getOffset();
    s.size = v.getStored().getSize();
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

/// Runs one task and writes its result (or why it has none) into `out`.
void run_task(client& c, schema::TaskSpec::Reader spec,
              const std::shared_ptr<const std::vector<char>>& batch,
              schema::TaskResult::Builder out) {
  out.setTaskId(spec.getTaskId());
  std::string name = spec.getName();
  auto fail = [&](error_kind kind, std::string type, std::string msg) {
    write_error(out.initError(), {kind, name, std::move(type), std::move(msg)});
  };
  auto* fn = find_function(std::string_view{spec.getFunction().cStr()});
  if (!fn) {
    fail(error_kind::unknown_function, "",
         "no function named '" + std::string{spec.getFunction().cStr()}
           + "' is registered in the worker's executable");
    return;
  }
  std::vector<raw_value> args;
  encoded_value result;
  try {
    for (auto a : spec.getArgs())
      args.push_back(arg_view(c, a, batch));
  } catch (const std::exception& e) {
    fail(error_kind::protocol, "", std::string{"bad argument: "} + e.what());
    return;
  }
  c.in_task = true;
  try {
    fn->invoke(fn->fn, args.data(), args.size(), result);
    c.in_task = false;
  } catch (const task_error& e) {
    // A task whose `get` failed fails with the same cause.
    c.in_task = false;
    write_error(out.initError(), {error_kind::task_failed, e.task_name(),
                                  e.exception_type(), e.message()});
    return;
  } catch (const error& e) {
    c.in_task = false;
    auto info = error_info::from(e);
    if (info.task_name.empty())
      info.task_name = name;
    write_error(out.initError(), info);
    return;
  } catch (const std::exception& e) {
    c.in_task = false;
    fail(error_kind::task_failed, current_exception_type(), e.what());
    return;
  } catch (...) {
    c.in_task = false;
    fail(error_kind::task_failed, current_exception_type(), "");
    return;
  }
  args.clear();
  try {
    auto id = read_object_id(spec.getReturnId());
    write_value(out.initValue(), c.store_value(result, id));
  } catch (const error& e) {
    auto info = error_info::from(e);
    info.task_name = name;
    write_error(out.initError(), info);
  }
}

struct executor_state {
  static inline const char* name = "troupe.executor";
};

executor_actor::behavior_type
executor_fn(executor_actor::stateful_pointer<executor_state> self, client* c) {
  return {
    [self, c](push_atom, std::vector<char>& bytes) {
      auto batch = std::make_shared<const std::vector<char>>(std::move(bytes));
      auto sender = caf::actor_cast<core_actor>(self->current_sender());
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
          run_task(*c, tasks[i], batch, list[i]);
          auto took = clock::now() - start;
          list[i].setExecNanos(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()));
          if (took > std::chrono::microseconds(200))
            flush_from(i + 1);
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
  return sys.spawn<caf::detached>(executor_fn, &c);
}

} // namespace troupe::detail
