#pragma once

// The submitter's test fixture: a fake submitter_io that records what it
// would send, helpers that decode pushed TaskBatches as a worker would and
// build ResultBatches the same way, and a submitter over a real object
// table. For the submitter's test files only.
#include "lib/core/submitter.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <capnp/message.h>
#include <doctest/doctest.h>

#include "lib/protocol/capnp_codec.hpp"
#include "task.capnp.h"
#include "troupe/errors.hpp"

namespace {

using namespace std::chrono_literals;
using namespace troupe::detail;
namespace schema = troupe::schema;
using troupe::error_info;
using troupe::error_kind;
using troupe::lease_grant;
using troupe::lease_request;
using troupe::object_id;
using status = object_table::status;

constexpr std::uint64_t me = 0x5150;
constexpr std::uint64_t other = 0x6160;

/// Records every effect of the submitter.
struct fake_io : submitter_io {
  std::vector<lease_request> requests;
  std::vector<std::uint64_t> cancelled;
  std::vector<std::uint64_t> returned;
  std::vector<std::vector<char>> pushes;
  bool light_flush_asked = false;
  /// Per push_to_host: the host and the CAF ids of the actors it names.
  std::vector<std::pair<troupe::core_actor, std::vector<std::uint64_t>>> host_pushes;
  std::vector<object_id> fetches;
  std::vector<std::chrono::milliseconds> ticks;
  /// cancel_remote: (task id, recursive, force); kill_worker: worker ids.
  std::vector<std::tuple<std::uint64_t, bool, bool>> remote_cancels;
  std::vector<std::uint64_t> killed;
  std::vector<object_id> rebuilds; ///< rebuild_borrowed

  void request_lease(lease_request req) override { requests.push_back(std::move(req)); }
  void cancel_lease(std::uint64_t id) override { cancelled.push_back(id); }
  void return_lease(std::uint64_t worker, const troupe::local_scheduler_actor&) override {
    returned.push_back(worker);
  }
  void schedule_light_flush() override { light_flush_asked = true; }
  void push_to_host(const troupe::core_actor& host, troupe::light_calls calls) override {
    host_pushes.push_back({host, calls.actors});
    for (auto& b : calls.batches)
      pushes.push_back(std::move(b));
  }
  void push(const troupe::executor_actor&, std::vector<char> batch) override {
    pushes.push_back(std::move(batch));
  }
  void fetch(const object_id& id, const caf::actor&) override { fetches.push_back(id); }
  void schedule_tick(std::chrono::milliseconds d) override { ticks.push_back(d); }
  void cancel_remote(const troupe::core_actor&, std::uint64_t task_id, bool recursive,
                     bool force) override {
    remote_cancels.emplace_back(task_id, recursive, force);
  }
  void kill_worker(std::uint64_t worker, const troupe::local_scheduler_actor&) override {
    killed.push_back(worker);
  }
  void rebuild_borrowed(const object_id& id) override { rebuilds.push_back(id); }
  /// actor_created: (actor, rebuild number, the error when it failed).
  struct created_actor {
    object_id id;
    std::uint32_t restarts = 0;
    std::optional<error_info> error;
  };
  std::vector<created_actor> created;
  void actor_created(const object_id& id, std::uint64_t, std::uint32_t restarts,
                     const stored_value*, const error_info* error) override {
    created.push_back({id, restarts, error ? std::optional<error_info>{*error} : std::nullopt});
  }

  std::size_t calls() const {
    return requests.size() + cancelled.size() + returned.size() + pushes.size() +
           fetches.size() + ticks.size();
  }
};

/// A task as a worker finds it in a pushed TaskBatch.
struct pushed_task {
  std::uint64_t task_id = 0;
  std::string function;
  std::string name;
  object_id return_id;
  std::vector<stored_value> args;
};

std::vector<pushed_task> tasks_of(const std::vector<char>& bytes) {
  message_reader reader{bytes};
  std::vector<pushed_task> out;
  for (auto t : reader.root<schema::TaskBatch>().getTasks()) {
    pushed_task p;
    p.task_id = t.getTaskId();
    p.function = t.getFunction();
    p.name = t.getName();
    p.return_id = read_object_id(t.getReturnId());
    for (auto a : t.getArgs())
      p.args.push_back(read_value(a));
    out.push_back(std::move(p));
  }
  return out;
}

raw_value view_of(const stored_value& v) {
  raw_value r;
  r.enc = v.enc;
  r.type_hash = v.type_hash;
  r.type_name = v.type_name;
  if (v.inline_data) {
    r.data = reinterpret_cast<const std::byte*>(v.inline_data->data());
    r.size = v.inline_data->size();
  }
  return r;
}

[[maybe_unused]] int int_of(const stored_value& v) {
  return codec<int>::decode(view_of(v));
}

stored_value int_value(int x) {
  auto e = encode(x);
  stored_value v;
  v.enc = e.enc;
  v.type_hash = e.type_hash;
  v.type_name = e.type_name;
  v.inline_data = std::make_shared<const std::vector<char>>(std::move(e.buffer));
  return v;
}

/// One entry of a ResultBatch: a value, or an error when `value` is empty.
struct result {
  std::uint64_t task_id = 0;
  std::optional<int> value;
  error_info error;
  std::uint64_t exec_nanos = 0; ///< how long the worker says it ran
  object_id lost_argument;      ///< an object_lost error's argument
};

[[maybe_unused]] std::vector<char> result_batch(const std::vector<result>& rs) {
  capnp::MallocMessageBuilder builder;
  auto list = builder.initRoot<schema::ResultBatch>().initResults(
      static_cast<unsigned>(rs.size()));
  for (unsigned i = 0; i < rs.size(); ++i) {
    list[i].setTaskId(rs[i].task_id);
    list[i].setExecNanos(rs[i].exec_nanos);
    if (rs[i].value)
      write_value(list[i].initValue(), int_value(*rs[i].value));
    else
      write_error(list[i].initError(), rs[i].error);
    if (rs[i].lost_argument.valid())
      write_object_id(list[i].initLostArgument(), rs[i].lost_argument);
  }
  return to_bytes(builder);
}

task_arg value_arg(int x) {
  return {encode(x), nullptr};
}

[[maybe_unused]] task_arg ref_arg(const ref_ptr& r) {
  return {{}, r};
}

lease_grant grant(std::uint64_t request_id, std::uint64_t worker_id) {
  return {request_id, worker_id, static_cast<std::int32_t>(1000 + worker_id), {}};
}

/// A submitter over a real object table, as the core actor holds it.
struct fixture {
  object_table table{me, [](std::uint64_t, std::uint64_t) {},
                     [](const stored_value&) -> raw_value {
                       throw std::logic_error("no store in these tests");
                     }};
  fake_io io;
  submitter sub;
  function_entry fn;
  std::uint64_t next_task = 1;
  std::uint64_t next_obj = 1;
  std::map<std::uint64_t, object_id> return_of; ///< task id -> return id
  /// The retry options of the tasks `submit` makes from now on.
  int max_retries = 0;
  troupe::retry_exceptions_policy retry_exceptions;
  task_key parent; ///< the submitting task of the tasks `submit` makes

  explicit fixture(submitter_config cfg = {})
      : sub{table, io, "/opt/app/worker", {}, cfg} {
    fn.name = "add";
  }

  /// Submits a task as client::submit does; returns its result's handle.
  ref_ptr submit(std::vector<task_arg> args, std::string name = "add",
                 troupe::resource_map resources = {{"CPU", 1}},
                 troupe::scheduling_strategy strategy = {}) {
    task_record t;
    t.strategy = strategy;
    t.task_id = next_task++;
    t.fn = &fn;
    t.name = std::move(name);
    t.return_id = {me, next_obj++};
    t.resources = std::move(resources);
    t.max_retries = max_retries;
    t.retry_exceptions = retry_exceptions;
    t.parent = parent;
    for (auto& a : args)
      if (!a.ref)
        a.value.own();
    t.args = std::move(args);
    return_of[t.task_id] = t.return_id;
    auto ref = table.create_owned(t.return_id, t.name);
    sub.submit(std::move(t));
    return ref;
  }

  /// Returns the tasks of every push since `from`, flushing first.
  std::vector<pushed_task> flushed(std::size_t from = 0) {
    sub.flush();
    std::vector<pushed_task> out;
    for (std::size_t i = from; i < io.pushes.size(); ++i)
      for (auto& t : tasks_of(io.pushes[i]))
        out.push_back(std::move(t));
    return out;
  }

  /// Runs one task of `fn` to completion on lease `worker`, so that the
  /// submitter has seen how long `fn` runs; returns the lease on a tick when
  /// `cfg.lease_idle_timeout` is 0.
  void warm_up(std::uint64_t worker, std::uint64_t exec_nanos = 10'000) {
    auto r = submit({value_arg(0)}, "warm_up");
    REQUIRE(!io.requests.empty());
    sub.on_granted({io.requests.back().request_id, worker, 1, {}});
    auto before = io.pushes.size();
    sub.flush();
    REQUIRE(io.pushes.size() == before + 1);
    auto tasks = tasks_of(io.pushes.back());
    REQUIRE(tasks.size() == 1);
    capnp::MallocMessageBuilder builder;
    auto list = builder.initRoot<schema::ResultBatch>().initResults(1);
    list[0].setTaskId(tasks[0].task_id);
    list[0].setExecNanos(exec_nanos);
    write_value(list[0].initValue(), int_value(0));
    sub.on_results(to_bytes(builder));
    REQUIRE(table.peek(r->id()) == status::ready);
  }

  /// Answers a pushed task with the int 0, taking `exec_nanos`.
  void complete(std::uint64_t task_id, std::uint64_t exec_nanos = 5'000'000) {
    capnp::MallocMessageBuilder builder;
    auto list = builder.initRoot<schema::ResultBatch>().initResults(1);
    list[0].setTaskId(task_id);
    list[0].setExecNanos(exec_nanos);
    write_value(list[0].initValue(), int_value(0));
    sub.on_results(to_bytes(builder));
  }

  int value_of(const ref_ptr& ref) {
    return codec<int>::decode(table.wait_value(ref->id(), std::nullopt, {}));
  }

  error_info error_of(const ref_ptr& ref) {
    error_info e;
    REQUIRE(table.peek(ref->id(), nullptr, &e) == status::failed);
    return e;
  }
};

} // namespace
