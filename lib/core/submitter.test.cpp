// Unit tests of the submitter, driven through a fake submitter_io that records
// what it would send. Task batches are decoded with Cap'n Proto as a worker
// would; result batches are built the same way.
#include "lib/core/submitter_fixture.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <doctest/doctest.h>

#include "lib/protocol/capnp_codec.hpp"
#include "task.capnp.h"
#include "troupe/errors.hpp"

std::uint64_t troupe_test_seed();

TEST_CASE("a task with only value arguments requests a lease at once") {
  fixture f;
  auto r = f.submit({value_arg(2), value_arg(3)}, "sum_it");
  REQUIRE(f.io.requests.size() == 1);
  auto& req = f.io.requests[0];
  CHECK(req.exe == "/opt/app/worker");
  CHECK(req.resources == troupe::resource_map{{"CPU", 1}});
  CHECK(req.task_name == "sum_it");
  CHECK(req.request_id != 0);
  CHECK(f.io.pushes.empty());
  CHECK(f.io.fetches.empty());
  CHECK(f.sub.active_tasks() == 1);
  CHECK(f.table.peek(r->id()) == status::pending);
}

TEST_CASE("a granted lease receives the task as a TaskBatch with its arguments") {
  fixture f;
  auto r = f.submit({value_arg(2), value_arg(-3)}, "sum_it");
  REQUIRE(f.io.requests.size() == 1);
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  CHECK(f.io.pushes.empty()); // nothing is sent before flush
  auto tasks = f.flushed();
  REQUIRE(f.io.pushes.size() == 1);
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].task_id == 1);
  CHECK(tasks[0].function == "add");
  CHECK(tasks[0].name == "sum_it");
  CHECK(tasks[0].return_id == r->id());
  REQUIRE(tasks[0].args.size() == 2);
  CHECK(int_of(tasks[0].args[0]) == 2);
  CHECK(int_of(tasks[0].args[1]) == -3);
  CHECK(tasks[0].args[0].type_hash == codec<int>::type_hash);
  // A second flush sends nothing new.
  f.sub.flush();
  CHECK(f.io.pushes.size() == 1);
  CHECK(f.io.requests.size() == 1);
  CHECK(f.io.ticks.empty()); // the lease is busy
}

TEST_CASE("a result batch fulfils the task's return object") {
  fixture f;
  auto r = f.submit({value_arg(2), value_arg(3)});
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto tasks = f.flushed();
  REQUIRE(tasks.size() == 1);
  // An unknown task id in the batch is ignored.
  f.sub.on_results(result_batch({{999, 1, {}}, {tasks[0].task_id, 5, {}}}));
  CHECK(f.table.peek(r->id()) == status::ready);
  CHECK(f.value_of(r) == 5);
  CHECK(f.sub.active_tasks() == 0);
  // The lease is idle now: a tick is scheduled to return it later.
  CHECK(f.io.ticks == std::vector<std::chrono::milliseconds>{50ms});
  CHECK(f.io.returned.empty());
  // A duplicate result changes nothing.
  f.sub.on_results(result_batch({{tasks[0].task_id, 6, {}}}));
  CHECK(f.value_of(r) == 5);
}

TEST_CASE("an error result fails the return object with the worker's error") {
  fixture f;
  auto r = f.submit({value_arg(1)}, "divide");
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto tasks = f.flushed();
  REQUIRE(tasks.size() == 1);
  f.sub.on_results(result_batch(
      {{tasks[0].task_id,
        std::nullopt,
        {error_kind::task_failed, "divide", "std::domain_error", "division by zero"}}}));
  try {
    f.table.wait_value(r->id(), std::nullopt, {});
    FAIL("no throw");
  } catch (const troupe::task_error& e) {
    CHECK(e.task_name() == "divide");
    CHECK(e.exception_type() == "std::domain_error");
    CHECK(e.message() == "division by zero");
  }
  CHECK(f.sub.active_tasks() == 0);
}

TEST_CASE("a task whose ref argument is pending waits for it before asking for a lease") {
  fixture f;
  object_id produced{me, 500};
  auto p = f.table.create_owned(produced, "producer");
  auto r = f.submit({ref_arg(p), value_arg(1)}, "consumer");
  CHECK(f.io.requests.empty());
  CHECK(f.io.fetches.empty());        // our own object: nothing to fetch
  f.sub.on_object_changed({me, 501}); // another object: still waiting
  CHECK(f.io.requests.empty());

  REQUIRE(f.table.fulfill(produced, int_value(21)));
  f.sub.on_object_changed(produced);
  REQUIRE(f.io.requests.size() == 1);
  CHECK(f.io.requests[0].task_name == "consumer");
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto tasks = f.flushed();
  REQUIRE(tasks.size() == 1);
  REQUIRE(tasks[0].args.size() == 2);
  CHECK(int_of(tasks[0].args[0]) == 21);
  CHECK(int_of(tasks[0].args[1]) == 1);
}

TEST_CASE("a task that depends on another task runs after it, with its result") {
  fixture f;
  auto a = f.submit({value_arg(4)}, "first");
  auto b = f.submit({ref_arg(a), value_arg(10)}, "second");
  REQUIRE(f.io.requests.size() == 1); // only the first is ready to run
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto first = f.flushed();
  REQUIRE(first.size() == 1);
  CHECK(first[0].name == "first");
  f.sub.on_results(result_batch({{first[0].task_id, 16, {}}}));
  // The second task goes to the same, now idle, lease without a new request.
  auto second = f.flushed(1);
  REQUIRE(second.size() == 1);
  CHECK(second[0].name == "second");
  REQUIRE(second[0].args.size() == 2);
  CHECK(int_of(second[0].args[0]) == 16);
  CHECK(f.io.requests.size() == 1);
  f.sub.on_results(result_batch({{second[0].task_id, 26, {}}}));
  CHECK(f.value_of(b) == 26);
}

TEST_CASE("a task that uses the same pending ref twice gets both arguments") {
  fixture f;
  object_id produced{me, 600};
  auto p = f.table.create_owned(produced, "producer");
  auto r = f.submit({ref_arg(p), ref_arg(p)}, "twice");
  CHECK(f.io.requests.empty());
  REQUIRE(f.table.fulfill(produced, int_value(8)));
  f.sub.on_object_changed(produced);
  REQUIRE(f.io.requests.size() == 1);
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto tasks = f.flushed();
  REQUIRE(tasks.size() == 1);
  REQUIRE(tasks[0].args.size() == 2);
  CHECK(int_of(tasks[0].args[0]) == 8);
  CHECK(int_of(tasks[0].args[1]) == 8);
}

TEST_CASE("a borrowed pending argument is fetched from its owner once") {
  fixture f;
  object_id borrowed{other, 5};
  auto b = f.table.from_wire(borrowed, caf::actor{});
  auto r1 = f.submit({ref_arg(b)}, "one");
  auto r2 = f.submit({ref_arg(b)}, "two");
  CHECK(f.io.fetches == std::vector<object_id>{borrowed});
  CHECK(f.io.requests.empty());
  REQUIRE(f.table.fulfill(borrowed, int_value(3)));
  f.sub.on_object_changed(borrowed);
  CHECK(f.io.requests.size() == 2);
  CHECK(f.io.fetches.size() == 1);
}

TEST_CASE("a task whose argument already failed fails with the same error") {
  fixture f;
  object_id produced{me, 700};
  auto p = f.table.create_owned(produced, "producer");
  error_info cause{error_kind::task_failed, "producer", "std::invalid_argument",
                   "bad input 42"};
  REQUIRE(f.table.fail(produced, cause));
  auto r = f.submit({value_arg(1), ref_arg(p)}, "consumer");
  CHECK(f.io.requests.empty());
  CHECK(f.sub.active_tasks() == 0);
  auto e = f.error_of(r);
  CHECK(e.kind == cause.kind);
  CHECK(e.task_name == "producer");
  CHECK(e.exception_type == cause.exception_type);
  CHECK(e.message == cause.message);
  try {
    f.table.wait_value(r->id(), std::nullopt, {});
    FAIL("no throw");
  } catch (const troupe::task_error& err) {
    CHECK(err.task_name() == "producer");
    CHECK(err.message() == "bad input 42");
  }
}

// This path (on_object_changed -> fail_task) reads the erased task_record in
// submitter.cpp's loop condition: a build with -Db_sanitize=address reports a
// heap-use-after-free here and in the two chain/node-loss tests below.
TEST_CASE("a task whose argument fails later fails with the same error") {
  fixture f;
  object_id produced{me, 701};
  auto p = f.table.create_owned(produced, "producer");
  auto r = f.submit({ref_arg(p)}, "consumer");
  error_info cause{error_kind::worker_crashed, "producer", "",
                   "killed by signal 11 (SIGSEGV)"};
  REQUIRE(f.table.fail(produced, cause));
  f.sub.on_object_changed(produced);
  CHECK(f.io.requests.empty());
  CHECK(f.sub.active_tasks() == 0);
  auto e = f.error_of(r);
  CHECK(e.kind == error_kind::worker_crashed);
  CHECK(e.task_name == "producer");
  CHECK(e.message == cause.message);
  CHECK_THROWS_AS(f.table.wait_value(r->id(), std::nullopt, {}),
                  troupe::worker_crashed_error);
}

TEST_CASE("a failure propagates down a chain of tasks naming the task that threw") {
  fixture f;
  auto a = f.submit({value_arg(1)}, "a");
  auto b = f.submit({ref_arg(a)}, "b");
  auto c = f.submit({ref_arg(b), value_arg(2)}, "c");
  REQUIRE(f.io.requests.size() == 1);
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto tasks = f.flushed();
  REQUIRE(tasks.size() == 1);
  f.sub.on_results(result_batch(
      {{tasks[0].task_id,
        std::nullopt,
        {error_kind::task_failed, "a", "std::runtime_error", "root cause"}}}));
  CHECK(f.sub.active_tasks() == 0);
  for (auto* ref : {&a, &b, &c}) {
    auto e = f.error_of(*ref);
    CHECK(e.task_name == "a");
    CHECK(e.message == "root cause");
  }
  f.sub.flush();
  CHECK(f.io.pushes.size() == 1); // b and c never ran
  CHECK(f.io.requests.size() == 1);
}

TEST_CASE("an argument that is no longer in the table fails the task with object_lost") {
  fixture f;
  object_id gone{me, 800};
  // A handle that is not registered in the table (as if freed long ago).
  auto h = std::make_shared<ref_handle>(nullptr, std::weak_ptr<object_table>{}, gone, caf::actor{});
  auto r = f.submit({ref_arg(h)}, "orphan");
  auto e = f.error_of(r);
  CHECK(e.kind == error_kind::object_lost);
  CHECK(e.task_name == "orphan");
  CHECK(e.message.find(gone.to_string()) != std::string::npos);
  CHECK(f.io.requests.empty());
}

TEST_CASE("a denied lease fails every queued task of its shape with unschedulable") {
  fixture f;
  troupe::resource_map gpu{{"CPU", 1}, {"GPU", 1}};
  auto t1 = f.submit({value_arg(1)}, "train_1", gpu);
  auto t2 = f.submit({value_arg(2)}, "train_2", gpu);
  auto t3 = f.submit({value_arg(3)}, "train_3", gpu);
  auto cpu = f.submit({value_arg(4)}, "plain");
  REQUIRE(f.io.requests.size() == 4);
  std::vector<std::uint64_t> gpu_requests;
  std::uint64_t cpu_request = 0;
  for (auto& req : f.io.requests) {
    if (req.resources.count("GPU"))
      gpu_requests.push_back(req.request_id);
    else
      cpu_request = req.request_id;
  }
  REQUIRE(gpu_requests.size() == 3);
  const std::string why = "needs {CPU: 1, GPU: 1} but the node has {CPU: 2}";
  f.sub.on_denied(gpu_requests[0], why);
  int n = 0;
  for (auto* ref : {&t1, &t2, &t3}) {
    ++n;
    try {
      f.table.wait_value((*ref)->id(), std::nullopt, {});
      FAIL("no throw");
    } catch (const troupe::unschedulable_error& e) {
      std::string what = e.what();
      CHECK(what.find("train_" + std::to_string(n)) != std::string::npos);
      CHECK(what.find(why) != std::string::npos);
    }
  }
  // The other GPU requests are withdrawn; the CPU task is untouched.
  std::vector<std::uint64_t> rest{gpu_requests[1], gpu_requests[2]};
  auto cancelled = f.io.cancelled;
  std::sort(cancelled.begin(), cancelled.end());
  CHECK(cancelled == rest);
  CHECK(f.table.peek(cpu->id()) == status::pending);
  CHECK(f.sub.active_tasks() == 1);
  f.sub.on_granted(grant(cpu_request, 9));
  auto tasks = f.flushed();
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].name == "plain");
}

TEST_CASE("a denied request does not fail tasks that another lease of the shape serves") {
  fixture f;
  auto t1 = f.submit({value_arg(1)});
  auto t2 = f.submit({value_arg(2)});
  REQUIRE(f.io.requests.size() == 2);
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  f.sub.on_denied(f.io.requests[1].request_id, "busy");
  CHECK(f.table.peek(t1->id()) == status::pending);
  CHECK(f.table.peek(t2->id()) == status::pending);
  auto first = f.flushed();
  REQUIRE(first.size() == 1);
  f.sub.on_results(result_batch({{first[0].task_id, 1, {}}}));
  auto second = f.flushed(1);
  REQUIRE(second.size() == 1);
  f.sub.on_results(result_batch({{second[0].task_id, 2, {}}}));
  CHECK(f.value_of(t1) + f.value_of(t2) == 3);
}

TEST_CASE(
    "a worker that dies fails its in-flight tasks with worker_crashed naming each task") {
  submitter_config cfg;
  cfg.max_pending_leases = 1;
  fixture f{cfg};
  f.warm_up(7); // a fast function: worker 7 takes a pipelined share
  auto r1 = f.submit({value_arg(1)}, "job_one");
  auto r2 = f.submit({value_arg(2)}, "job_two");
  auto r3 = f.submit({value_arg(3)}, "job_three");
  // Three tasks, one lease and one more requested: worker 7's share is two.
  CHECK(f.io.requests.size() == 2);
  auto tasks = f.flushed(1);
  REQUIRE(tasks.size() == 2);
  const std::string reason = "worker process 1007 killed by signal 9 (SIGKILL)";
  f.sub.on_worker_died(7, reason);
  CHECK(f.sub.active_tasks() == 1);
  for (auto& [ref, name] : {std::pair{r1, "job_one"}, std::pair{r2, "job_two"}}) {
    try {
      f.table.wait_value(ref->id(), std::nullopt, {});
      FAIL("no throw");
    } catch (const troupe::worker_crashed_error& e) {
      CHECK(e.task_name() == name);
      CHECK(e.reason() == reason);
      CHECK(std::string{e.what()}.find(name) != std::string::npos);
    }
  }
  // A late result from the dead worker changes nothing.
  f.sub.on_results(result_batch({{tasks[0].task_id, 1, {}}}));
  CHECK(f.table.peek(r1->id()) == status::failed);
  // The third task goes to the worker that was requested for it.
  auto pushes = f.io.pushes.size();
  f.sub.on_granted(grant(f.io.requests[1].request_id, 8));
  auto third = f.flushed(pushes);
  REQUIRE(third.size() == 1);
  CHECK(third[0].name == "job_three");
  CHECK(f.table.peek(r3->id()) == status::pending);
  CHECK(f.io.returned.empty()); // a dead worker is not returned
}

TEST_CASE("a worker that dies leaves queued tasks queued and asks for another lease") {
  submitter_config cfg;
  cfg.max_in_flight_per_worker = 1;
  cfg.max_pending_leases = 1;
  fixture f{cfg};
  auto r1 = f.submit({value_arg(1)}, "a");
  auto r2 = f.submit({value_arg(2)}, "b");
  auto r3 = f.submit({value_arg(3)}, "c");
  REQUIRE(f.io.requests.size() == 1);
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto tasks = f.flushed();
  REQUIRE(tasks.size() == 1);
  REQUIRE(f.io.requests.size() == 2); // the queue still has work
  f.sub.on_worker_died(7, "gone");
  CHECK(f.table.peek(r1->id()) == status::failed);
  CHECK(f.table.peek(r2->id()) == status::pending);
  CHECK(f.table.peek(r3->id()) == status::pending);
  CHECK(f.sub.active_tasks() == 2);
  f.sub.on_granted(grant(f.io.requests[1].request_id, 8));
  auto next = f.flushed(1);
  REQUIRE(next.size() == 1);
  CHECK(next[0].name == "b");
  // A death report for a worker we do not lease changes nothing.
  f.sub.on_worker_died(7, "again");
  CHECK(f.sub.active_tasks() == 2);
}

TEST_CASE("many queued tasks are spread over two leases, not all onto the first") {
  submitter_config cfg;
  cfg.max_pending_leases = 2;
  cfg.lease_idle_timeout = std::chrono::milliseconds{0};
  fixture f{cfg};
  f.warm_up(5);    // a fast function, so that tasks are pipelined
  f.sub.on_tick(); // ... and its lease is returned
  REQUIRE(f.io.returned == std::vector<std::uint64_t>{5});
  auto first_request = f.io.requests.size();
  auto first_push = f.io.pushes.size();
  constexpr int n = 10;
  std::vector<ref_ptr> refs;
  for (int i = 0; i < n; ++i)
    refs.push_back(f.submit({value_arg(i)}, "t" + std::to_string(i)));
  REQUIRE(f.io.requests.size() == first_request + 2);
  f.sub.on_granted(grant(f.io.requests[first_request].request_id, 7));
  auto on_first = f.flushed(first_push);
  f.sub.on_granted(grant(f.io.requests[first_request + 1].request_id, 8));
  auto on_second = f.flushed(f.io.pushes.size());
  CHECK(on_first.size() > 1); // pipelined ...
  CHECK(on_second.size() > 1);
  CHECK(on_first.size() > 0);
  CHECK(on_first.size() < static_cast<std::size_t>(n));
  CHECK(on_second.size() > 0);
  CHECK(on_first.size() + on_second.size() <= static_cast<std::size_t>(n));
  INFO("first lease: " << on_first.size() << ", second: " << on_second.size());

  // Only these two leases are ever granted: answering what was pushed must
  // still run every task exactly once.
  std::multiset<std::uint64_t> pushed;
  std::size_t seen = first_push;
  for (int round = 0; round < 3 * n && f.sub.active_tasks() > 0; ++round) {
    auto tasks = f.flushed(seen);
    seen = f.io.pushes.size();
    std::vector<result> rs;
    for (auto& t : tasks) {
      pushed.insert(t.task_id);
      rs.push_back({t.task_id, int_of(t.args[0]) * 10, {}});
    }
    if (!rs.empty())
      f.sub.on_results(result_batch(rs));
  }
  CHECK(f.sub.active_tasks() == 0);
  CHECK(pushed.size() == static_cast<std::size_t>(n));
  CHECK(std::set<std::uint64_t>(pushed.begin(), pushed.end()).size() ==
        static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    CHECK(f.value_of(refs[i]) == i * 10);
  // The requests never answered were withdrawn once nothing was queued.
  for (std::size_t i = first_request + 2; i < f.io.requests.size(); ++i)
    CHECK(std::count(f.io.cancelled.begin(), f.io.cancelled.end(),
                     f.io.requests[i].request_id) == 1);
}

TEST_CASE("pending lease requests are cancelled when the queue empties") {
  fixture f;
  auto t1 = f.submit({value_arg(1)});
  auto t2 = f.submit({value_arg(2)});
  REQUIRE(f.io.requests.size() == 2);
  auto req1 = f.io.requests[0].request_id;
  auto req2 = f.io.requests[1].request_id;
  f.sub.on_granted(grant(req1, 7));
  auto first = f.flushed();
  REQUIRE(first.size() == 1);
  CHECK(f.io.cancelled.empty()); // one task still waits for a worker
  f.sub.on_results(result_batch({{first[0].task_id, 1, {}}}));
  auto second = f.flushed(1);
  REQUIRE(second.size() == 1); // the freed lease took it
  CHECK(f.io.cancelled == std::vector<std::uint64_t>{req2});
  // The grant for the cancelled request arrives anyway: it goes straight back.
  f.sub.on_granted(grant(req2, 8));
  CHECK(f.io.returned == std::vector<std::uint64_t>{8});
  CHECK(f.flushed(2).empty());
}

TEST_CASE("an idle lease is returned on the tick after lease_idle_timeout") {
  submitter_config cfg;
  cfg.lease_idle_timeout = std::chrono::milliseconds{0};
  fixture f{cfg};
  auto r = f.submit({value_arg(1)});
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto tasks = f.flushed();
  REQUIRE(tasks.size() == 1);
  CHECK(f.io.ticks.empty());
  f.sub.on_tick(); // busy: kept
  CHECK(f.io.returned.empty());
  f.sub.on_results(result_batch({{tasks[0].task_id, 1, {}}}));
  CHECK(f.io.ticks == std::vector<std::chrono::milliseconds>{0ms});
  f.sub.on_tick();
  CHECK(f.io.returned == std::vector<std::uint64_t>{7});
  f.sub.on_tick(); // returned once only
  CHECK(f.io.returned.size() == 1);
  // The next task needs a new lease.
  f.submit({value_arg(2)});
  CHECK(f.io.requests.size() == 2);
}

TEST_CASE(
    "a lease idle for less than lease_idle_timeout is kept and the tick rescheduled") {
  submitter_config cfg;
  cfg.lease_idle_timeout = std::chrono::hours{1};
  fixture f{cfg};
  auto r = f.submit({value_arg(1)});
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto tasks = f.flushed();
  f.sub.on_results(result_batch({{tasks[0].task_id, 1, {}}}));
  REQUIRE(f.io.ticks.size() == 1);
  f.sub.on_tick();
  CHECK(f.io.returned.empty());
  CHECK(f.io.ticks.size() == 2);
  // The kept lease serves the next task without a new request.
  auto r2 = f.submit({value_arg(2)});
  CHECK(f.io.requests.size() == 1);
  CHECK(f.flushed(1).size() == 1);
}

TEST_CASE("tasks of a function not seen yet run one per worker") {
  submitter_config cfg;
  cfg.max_pending_leases = 1;
  fixture f{cfg};
  auto r1 = f.submit({value_arg(1)}, "a");
  auto r2 = f.submit({value_arg(2)}, "b");
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto first = f.flushed();
  REQUIRE(first.size() == 1);       // b does not wait behind a on a busy worker
  CHECK(f.io.requests.size() == 2); // but asks for a worker of its own
  f.sub.on_results(result_batch({{first[0].task_id, 1, {}, 5'000'000}}));
  auto second = f.flushed(1);
  REQUIRE(second.size() == 1);
  CHECK(second[0].name == "b");
}

TEST_CASE("tasks of a function that ran fast are pipelined to a busy worker") {
  submitter_config cfg;
  cfg.max_pending_leases = 1;
  fixture f{cfg};
  f.warm_up(7, 20'000); // 20 us, well below pipeline_below
  std::vector<troupe::detail::ref_ptr> refs;
  for (int i = 0; i < 6; ++i)
    refs.push_back(f.submit({value_arg(i)}, "t" + std::to_string(i)));
  // Six tasks, one lease and one more requested: worker 7 takes half at once
  // instead of one, and the rest wait for the second worker.
  CHECK(f.flushed(1).size() == 3);
  CHECK(f.io.requests.size() == 2);
}

TEST_CASE("tasks of a function that ran slowly are not pipelined") {
  fixture f;
  f.warm_up(7, 50'000'000); // 50 ms, above pipeline_below
  auto r1 = f.submit({value_arg(1)}, "a");
  auto r2 = f.submit({value_arg(2)}, "b");
  auto tasks = f.flushed(1);
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].name == "a");
  CHECK(f.io.requests.size() == 2); // b asks for another worker
}

TEST_CASE("a malformed result batch throws a protocol error and changes nothing") {
  auto seed = troupe_test_seed();
  CAPTURE(seed);
  std::mt19937_64 rng{seed};
  fixture f;
  auto r = f.submit({value_arg(1)});
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto tasks = f.flushed();
  REQUIRE(tasks.size() == 1);
  auto calls = f.io.calls();
  auto random_bytes = [&](std::size_t n) {
    std::vector<char> b(n);
    for (auto& c : b)
      c = static_cast<char>(rng());
    return b;
  };
  auto good = result_batch({{tasks[0].task_id, 5, {}}});
  std::vector<std::vector<char>> bad{
      random_bytes(13), random_bytes(64), random_bytes(800), {}, random_bytes(7)};
  auto cut = good;
  cut.resize(good.size() - 8); // whole words, but the message is truncated
  bad.push_back(cut);
  for (auto& bytes : bad) {
    CAPTURE(bytes.size());
    try {
      f.sub.on_results(bytes);
      FAIL("a malformed batch was accepted");
    } catch (const troupe::error& e) {
      CHECK(e.kind() == error_kind::protocol);
      CHECK(std::string{e.what()}.find("malformed") != std::string::npos);
    }
    CHECK(f.sub.active_tasks() == 1);
    CHECK(f.table.peek(r->id()) == status::pending);
    CHECK(f.io.calls() == calls);
  }
  // The submitter still works.
  f.sub.on_results(good);
  CHECK(f.value_of(r) == 5);
}

TEST_CASE("a result batch with a bad pointer inside is rejected as a whole") {
  // message_reader validates only the root; on_results then applies results
  // one by one, so a bad pointer in a later result is found after earlier
  // results were applied, and it escapes as a kj::Exception.
  fixture f;
  f.next_task = 0x7e57000000000001ULL; // easy to find in the bytes
  auto r1 = f.submit({value_arg(1)}, "first");
  auto r2 = f.submit({value_arg(2)}, "second");
  for (auto& req : std::vector<lease_request>(f.io.requests))
    f.sub.on_granted(grant(req.request_id, req.request_id + 100));
  auto tasks = f.flushed();
  REQUIRE(tasks.size() == 2);
  auto bytes = result_batch({{tasks[0].task_id, 1, {}}, {tasks[1].task_id, 2, {}}});
  // Find the second result's task id; its value pointer follows its data.
  std::uint64_t id2 = tasks[1].task_id;
  std::size_t at = 0;
  for (std::size_t i = 8; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    if (w == id2)
      at = i;
  }
  REQUIRE(at != 0);
  std::size_t ptr_at = at + 8 * schema::TaskResult::_capnpPrivate::dataWordSize;
  REQUIRE(ptr_at + 8 <= bytes.size());
  std::uint64_t far = (std::uint64_t{1} << 32) | (std::uint64_t{0x100000} << 2);
  std::memcpy(bytes.data() + ptr_at, &far, 8);

  CHECK_THROWS_AS(f.sub.on_results(bytes), troupe::error);
  CHECK(f.table.peek(r1->id()) == status::pending);
  CHECK(f.table.peek(r2->id()) == status::pending);
  CHECK(f.sub.active_tasks() == 2);
}

TEST_CASE("node loss fails every task, naming each") {
  fixture f;
  auto a = f.submit({value_arg(1)}, "running");
  auto b = f.submit({ref_arg(a)}, "waiting");
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  f.flushed();
  f.sub.on_node_down({error_kind::node_died, "", "", "the node daemon is gone"});
  CHECK(f.sub.active_tasks() == 0);
  // The waiting task fails because its argument failed: with the same cause.
  for (auto* ref : {&a, &b}) {
    auto e = f.error_of(*ref);
    CHECK(e.kind == error_kind::node_died);
    CHECK(e.message == "the node daemon is gone");
    CHECK(e.task_name == "running");
  }
  CHECK_THROWS_AS(f.table.wait_value(b->id(), std::nullopt, {}), troupe::error);
}

TEST_CASE("describe summarises tasks, leases and shapes") {
  fixture f;
  auto a = f.submit({value_arg(1)});
  CHECK(f.sub.describe() == "tasks=1 leases=0 shapes=1");
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  CHECK(f.sub.describe() == "tasks=1 leases=1 shapes=1");
}

TEST_CASE("task_rows shows each task queued, then running on its worker's node") {
  fixture f;
  auto a = f.submit({value_arg(1)}, "first");
  CHECK(f.sub.task_rows(10) == std::vector<troupe::task_row>{{1, "first", "queued", 0, false}});
  f.sub.on_granted(grant(f.io.requests[0].request_id, (2ULL << 32) | 7));
  f.flushed();
  CHECK(f.sub.task_rows(10) == std::vector<troupe::task_row>{{1, "first", "running", 2, false}});
  CHECK(f.sub.task_rows(0).empty());
}

TEST_CASE("shape keys are canonical and ignore zero amounts") {
  CHECK(shape_key({{"CPU", 1}, {"GPU", 0.5}}) == shape_key({{"GPU", 0.5}, {"CPU", 1}}));
  CHECK(shape_key({{"CPU", 1}, {"GPU", 0}}) == shape_key({{"CPU", 1}}));
  CHECK(shape_key({{"CPU", 1}}) != shape_key({{"CPU", 2}}));
  CHECK(shape_key({{"CPU", 1}}) != shape_key({{"CPU", 1}, {"GPU", 1}}));
  CHECK(shape_key({}) == shape_key({{"CPU", 0}}));
  CHECK(shape_key({{"CPU", 1}, {"GPU", 0.5}}).find("CPU=1") != std::string::npos);
  CHECK(shape_key({{"CPU", 1}, {"GPU", 0.5}}).find("GPU=0.5") != std::string::npos);
}

TEST_CASE("a lease request carries the task's strategy") {
  fixture f;
  f.submit({value_arg(1)}, "pinned", {{"CPU", 1}}, troupe::scheduling_strategy::on_node(3, true));
  REQUIRE(f.io.requests.size() == 1);
  auto& req = f.io.requests[0];
  CHECK(req.strategy.type == troupe::scheduling_strategy::kind::node_affinity);
  CHECK(req.strategy.node == 3);
  CHECK(req.strategy.soft);
  // Another strategy is another shape: a request of its own.
  f.submit({value_arg(1)}, "spread", {{"CPU", 1}}, troupe::scheduling_strategy::spread());
  REQUIRE(f.io.requests.size() == 2);
  CHECK(f.io.requests[1].strategy.type == troupe::scheduling_strategy::kind::spread);
}

TEST_CASE("an idle lease of another shape with the same resources serves a task it suits") {
  fixture f;
  f.submit({value_arg(1)}, "on3", {{"CPU", 1}}, troupe::scheduling_strategy::on_node(3));
  REQUIRE(f.io.requests.size() == 1);
  auto g = grant(f.io.requests[0].request_id, 7);
  g.node_id = 3;
  f.sub.on_granted(g);
  auto first = f.flushed();
  REQUIRE(first.size() == 1);
  f.complete(first[0].task_id); // the lease is idle now, kept for a while
  auto pushes = f.io.pushes.size();
  // A default task needs what the idle worker holds: no new lease.
  auto r = f.submit({value_arg(2)}, "anywhere");
  CHECK(f.io.requests.size() == 1);
  auto second = f.flushed(pushes);
  REQUIRE(second.size() == 1);
  CHECK(second[0].name == "anywhere");
  f.complete(second[0].task_id);
  CHECK(f.table.peek(r->id()) == status::ready);
  // Affinity to node 3 is served by it too; to node 2 and SPREAD are not.
  pushes = f.io.pushes.size();
  f.submit({value_arg(3)}, "on3 again", {{"CPU", 1}}, troupe::scheduling_strategy::on_node(3));
  CHECK(f.io.requests.size() == 1);
  CHECK(f.flushed(pushes).size() == 1);
  f.submit({value_arg(4)}, "on2", {{"CPU", 1}}, troupe::scheduling_strategy::on_node(2));
  CHECK(f.io.requests.size() == 2);
  f.submit({value_arg(5)}, "spread", {{"CPU", 1}}, troupe::scheduling_strategy::spread());
  CHECK(f.io.requests.size() == 3);
  // Different resources never share a worker.
  f.submit({value_arg(6)}, "two cpus", {{"CPU", 2}});
  CHECK(f.io.requests.size() == 4);
}

TEST_CASE("tasks on leases of a node that died fail with node_died") {
  fixture f;
  auto r = f.submit({value_arg(1)}, "far away");
  REQUIRE(f.io.requests.size() == 1);
  auto g = grant(f.io.requests[0].request_id, 7);
  g.node_id = 4;
  f.sub.on_granted(g);
  REQUIRE(f.flushed().size() == 1);
  f.sub.on_peer_node_down(2, "node 2 died"); // not ours
  CHECK(f.table.peek(r->id()) == status::pending);
  f.sub.on_peer_node_down(4, "node 4 died (exit_reason(remote_link_unreachable))");
  auto e = f.error_of(r);
  CHECK(e.kind == troupe::error_kind::node_died);
  CHECK(e.message.find("node 4 died") != std::string::npos);
}

namespace {

/// A fixture whose function returns a tuple of three, or streams.
struct shaped_fixture : fixture {
  std::vector<ref_ptr> extra;

  /// Submits a call returning three values, as `submit_call` does.
  ref_ptr submit_tuple() {
    fn.num_returns = 3;
    task_record t;
    t.task_id = next_task++;
    t.fn = &fn;
    t.name = "split";
    t.return_id = {me, next_obj++};
    t.resources = {{"CPU", 1}};
    for (int i = 0; i < 2; ++i) {
      object_id id{me, next_obj++};
      t.extra_returns.push_back(id);
      extra.push_back(table.create_owned(id, t.name));
    }
    auto ref = table.create_owned(t.return_id, t.name);
    sub.submit(std::move(t));
    return ref;
  }

  /// Submits a generator call with `backpressure`; returns its object.
  ref_ptr submit_stream(std::uint32_t backpressure) {
    fn.streams = true;
    task_record t;
    t.task_id = next_task++;
    t.fn = &fn;
    t.name = "numbers";
    t.return_id = table.open_stream(backpressure);
    t.backpressure = backpressure;
    t.resources = {{"CPU", 1}};
    auto ref = table.create_owned(t.return_id, t.name);
    sub.submit(std::move(t));
    return ref;
  }
};

/// A ResultBatch entry for item `index` of `stream`, holding `x`.
std::vector<char> item_batch(std::uint64_t task_id, const object_id& stream,
                             std::uint64_t index, int x) {
  capnp::MallocMessageBuilder builder;
  auto r = builder.initRoot<schema::ResultBatch>().initResults(1)[0];
  r.setTaskId(task_id);
  write_value(r.initValue(), int_value(x));
  r.setItemIndex(index);
  write_object_id(r.initStream(), stream);
  return to_bytes(builder);
}

} // namespace

TEST_CASE("a tuple-returning task names its other objects in its spec and fulfils each") {
  shaped_fixture f;
  auto first = f.submit_tuple();
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  f.sub.flush();
  REQUIRE(f.io.pushes.size() == 1);
  message_reader reader{f.io.pushes[0]};
  auto spec = reader.root<schema::TaskBatch>().getTasks()[0];
  REQUIRE(spec.getExtraReturnIds().size() == 2);
  CHECK(read_object_id(spec.getExtraReturnIds()[0]) == f.extra[0]->id());
  CHECK(read_object_id(spec.getExtraReturnIds()[1]) == f.extra[1]->id());
  capnp::MallocMessageBuilder builder;
  auto r = builder.initRoot<schema::ResultBatch>().initResults(1)[0];
  r.setTaskId(spec.getTaskId());
  write_value(r.initValue(), int_value(1));
  auto extra = r.initExtraValues(2);
  write_value(extra[0], int_value(2));
  write_value(extra[1], int_value(3));
  f.sub.on_results(to_bytes(builder));
  CHECK(f.value_of(first) == 1);
  CHECK(f.value_of(f.extra[0]) == 2);
  CHECK(f.value_of(f.extra[1]) == 3);
}

TEST_CASE("a failed tuple-returning task fails every element's object with its error") {
  shaped_fixture f;
  auto first = f.submit_tuple();
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto tasks = f.flushed();
  f.sub.on_results(result_batch(
    {{tasks[0].task_id, std::nullopt, {error_kind::task_failed, "split", "E", "no"}}}));
  CHECK(f.error_of(first).message == "no");
  CHECK(f.error_of(f.extra[0]).message == "no");
  CHECK(f.error_of(f.extra[1]).message == "no");
}

TEST_CASE("a task whose result lacks a tuple's elements fails them, not its first") {
  shaped_fixture f;
  auto first = f.submit_tuple();
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  auto tasks = f.flushed();
  f.sub.on_results(result_batch({{tasks[0].task_id, 1, {}}}));
  CHECK(f.value_of(first) == 1);
  CHECK(f.error_of(f.extra[0]).kind == error_kind::protocol);
}

TEST_CASE("streamed items go to the stream as they come; the end's count closes it") {
  shaped_fixture f;
  auto done = f.submit_stream(3);
  f.sub.on_granted(grant(f.io.requests[0].request_id, 7));
  f.sub.flush();
  message_reader reader{f.io.pushes[0]};
  auto spec = reader.root<schema::TaskBatch>().getTasks()[0];
  CHECK(spec.getBackpressure() == 3);
  auto stream = done->id();
  auto tid = spec.getTaskId();
  f.sub.on_results(item_batch(tid, stream, 1, 10));
  auto next = [&] { return f.table.next_item(stream, after(1s), {}, {}); };
  CHECK(f.value_of(next()) == 10);
  CHECK(f.sub.active_tasks() == 1); // items are no result of the task
  // The end (2 items) overtakes item 2: the stream waits for it.
  capnp::MallocMessageBuilder end;
  auto r = end.initRoot<schema::ResultBatch>().initResults(1)[0];
  r.setTaskId(tid);
  write_value(r.initValue(), {});
  r.setItemCount(2);
  f.sub.on_results(to_bytes(end));
  CHECK(f.sub.active_tasks() == 0);
  CHECK(f.table.peek(stream) == status::ready);
  f.sub.on_results(item_batch(tid, stream, 2, 20));
  CHECK(f.value_of(next()) == 20);
  CHECK(next() == nullptr);
}

TEST_CASE("an item of a stream nobody reads is dropped and its producer told to stop") {
  struct acks_io : fake_io {
    std::vector<std::uint64_t> acked;
    void ack_stream(const troupe::stream_actor&, const object_id&, std::uint64_t n) override {
      acked.push_back(n);
    }
  };
  object_table table{me, [](std::uint64_t, std::uint64_t) {},
                     [](const stored_value&) -> raw_value { throw std::logic_error("none"); }};
  acks_io io;
  submitter sub{table, io, "/opt/app/worker", {}};
  object_id gone{me, (1ULL << 63) | (5ULL << 32)};
  sub.on_results(item_batch(1, gone, 1, 10));
  CHECK(io.acked == std::vector<std::uint64_t>{~std::uint64_t{0}});
  CHECK_FALSE(table.contains(troupe::detail::stream_item_id(gone, 1)));
}

TEST_CASE("a worker granted again for another shape belongs to that shape only") {
  fixture f;
  f.submit({value_arg(1)}, "on3", {{"CPU", 1}}, troupe::scheduling_strategy::on_node(3));
  auto g = grant(f.io.requests[0].request_id, 7);
  g.node_id = 3;
  f.sub.on_granted(g);
  auto first = f.flushed();
  REQUIRE(first.size() == 1);
  f.complete(first[0].task_id);
  // The same worker comes again for a request of another shape (2 CPUs:
  // the first shape cannot take it over).
  f.submit({value_arg(2)}, "two cpus", {{"CPU", 2}});
  REQUIRE(f.io.requests.size() == 2);
  auto pushes = f.io.pushes.size();
  auto again = grant(f.io.requests[1].request_id, 7);
  again.node_id = 3;
  f.sub.on_granted(again);
  auto second = f.flushed(pushes);
  REQUIRE(second.size() == 1);
  f.complete(second[0].task_id);
  // The worker dies: every shape's list lets go of it, so a later pump
  // never looks for a lease that is gone.
  f.sub.on_worker_died(7, "killed");
  f.submit({value_arg(3)}, "on3 later", {{"CPU", 1}}, troupe::scheduling_strategy::on_node(3));
  f.submit({value_arg(4)}, "two cpus later", {{"CPU", 2}});
  CHECK_NOTHROW(f.sub.flush());
  CHECK(f.io.requests.size() == 4);
}
