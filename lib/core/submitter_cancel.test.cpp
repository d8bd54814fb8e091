// Unit tests of the submitter's cancels: dropped before they start, told
// (or killed) while they run, never retried, and their children with them.
#include "lib/core/submitter_fixture.hpp"

#include <caf/all.hpp>

#include "lib/protocol/handles.hpp"

namespace {

/// A fixture whose leases have a worker core (cancels go there).
struct cancel_fixture : fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::actor dummy = sys.spawn([](int) -> caf::behavior { return {[](int) {}}; }, 0);

  ~cancel_fixture() { caf::anon_send_exit(dummy, caf::exit_reason::user_shutdown); }

  troupe::core_actor worker_core() { return troupe::handle_cast<troupe::core_actor>(dummy); }

  /// Grants the last lease request to `worker`, with a core.
  void grant_last(std::uint64_t worker) {
    auto g = grant(io.requests.back().request_id, worker);
    g.core = worker_core();
    sub.on_granted(g);
  }

  bool cancelled(const ref_ptr& r) {
    error_info e;
    return table.peek(r->id(), nullptr, &e) == status::failed
           && e.kind == error_kind::task_cancelled;
  }
};

} // namespace

TEST_CASE("a queued task is cancelled without ever being pushed") {
  cancel_fixture f;
  auto r = f.submit({value_arg(1)}, "queued");
  CHECK(f.sub.cancel(r->id(), false, true).empty());
  CHECK(f.cancelled(r));
  CHECK(f.error_of(r).task_name == "queued");
  CHECK(f.sub.active_tasks() == 0);
  CHECK(f.io.cancelled.size() == 1); // its lease request is withdrawn
  CHECK(f.flushed().empty());
  // Cancelling again, or a finished task, does nothing.
  CHECK(f.sub.cancel(r->id(), false, true).empty());
}

TEST_CASE("a task waiting for an argument is cancelled, and the argument's arrival "
          "changes nothing") {
  cancel_fixture f;
  object_id produced{me, 500};
  auto p = f.table.create_owned(produced, "producer");
  auto r = f.submit({ref_arg(p)}, "consumer");
  f.sub.cancel(r->id(), false, true);
  CHECK(f.cancelled(r));
  f.table.fulfill(produced, int_value(3));
  f.sub.on_object_changed(produced);
  CHECK(f.io.requests.empty());
  CHECK(f.cancelled(r));
}

TEST_CASE("a running task is told, fails at once, is not retried, and ends with its answer") {
  cancel_fixture f;
  f.max_retries = 3;
  auto r = f.submit({value_arg(1)}, "running");
  f.grant_last(7);
  auto pushed = f.flushed();
  REQUIRE(pushed.size() == 1);
  f.sub.cancel(r->id(), false, true);
  CHECK(f.cancelled(r));
  REQUIRE(f.io.remote_cancels.size() == 1);
  CHECK(f.io.remote_cancels[0] == std::tuple{pushed[0].task_id, true, false});
  CHECK(f.io.killed.empty());
  CHECK(f.sub.task_rows(10)[0].state == "cancelling");
  // It answers after all: the value is dropped, the lease is free again.
  f.complete(pushed[0].task_id);
  CHECK(f.cancelled(r));
  CHECK(f.sub.active_tasks() == 0);
  CHECK(f.io.ticks.size() == 1);
}

TEST_CASE("a forced cancel kills the worker, and its death runs the task no more") {
  cancel_fixture f;
  f.max_retries = 3;
  auto r = f.submit({value_arg(1)}, "stuck");
  f.grant_last(7);
  f.flushed();
  f.sub.cancel(r->id(), true, false);
  CHECK(f.io.killed == std::vector<std::uint64_t>{7});
  CHECK(f.io.remote_cancels.empty()); // not recursive: nothing to tell it
  auto requests = f.io.requests.size();
  f.sub.on_worker_died(7, "killed by signal 9 (SIGKILL)");
  CHECK(f.io.requests.size() == requests); // no retry
  CHECK(f.cancelled(r));
  CHECK(f.sub.active_tasks() == 0);
}

TEST_CASE("tasks that depend on a cancelled task fail with the cancel") {
  cancel_fixture f;
  auto first = f.submit({value_arg(1)}, "first");
  auto second = f.submit({ref_arg(first)}, "second");
  f.sub.cancel(first->id(), false, true);
  CHECK(f.cancelled(second));
  CHECK(f.sub.active_tasks() == 0);
}

TEST_CASE("a recursive cancel reaching a worker cancels the tasks its task submitted") {
  cancel_fixture f;
  task_key parent{f.dummy.address(), 41};
  f.parent = parent;
  auto child_a = f.submit({value_arg(1)}, "child a");
  auto child_b = f.submit({value_arg(2)}, "child b");
  f.parent = {};
  auto other = f.submit({value_arg(3)}, "other");
  f.sub.cancel_children(parent, false);
  CHECK(f.cancelled(child_a));
  CHECK(f.cancelled(child_b));
  CHECK(f.table.peek(other->id()) == status::pending);
}

TEST_CASE("an actor call not yet sent is removed; one sent is told; force is refused") {
  cancel_fixture f;
  object_id actor{me, 900};
  auto call = [&](const std::string& name) {
    task_record t;
    t.task_id = f.next_task++;
    t.fn = &f.fn;
    t.name = name;
    t.return_id = {me, f.next_obj++};
    t.actor_id = actor;
    auto ref = f.table.create_owned(t.return_id, t.name);
    f.sub.submit(std::move(t));
    return ref;
  };
  auto waiting = call("waits"); // the actor is not resolved yet
  CHECK(f.sub.cancel(waiting->id(), true, true).find("kill the actor") != std::string::npos);
  CHECK(f.table.peek(waiting->id()) == status::pending);
  f.sub.cancel(waiting->id(), false, true);
  CHECK(f.cancelled(waiting));
  troupe::actor_status st;
  st.id = actor;
  st.alive = true;
  st.instance = troupe::handle_cast<troupe::executor_actor>(f.dummy);
  st.worker_core = f.worker_core();
  f.sub.on_actor_status(st);
  auto sent = call("sent");
  auto after = call("after");
  auto names = f.flushed();
  REQUIRE(names.size() == 2); // `waits` never went out
  f.sub.cancel(sent->id(), false, true);
  CHECK(f.cancelled(sent));
  REQUIRE(f.io.remote_cancels.size() == 1);
  CHECK(std::get<0>(f.io.remote_cancels[0]) == names[0].task_id);
  CHECK(f.table.peek(after->id()) == status::pending);
}
