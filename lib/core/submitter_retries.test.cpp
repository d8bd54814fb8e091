// Unit tests of the submitter's retries: tasks run again after their worker
// or node died, or after an exception their policy retries, within
// max_retries; answers from an earlier attempt are dropped.
#include "lib/core/submitter_fixture.hpp"

#include <caf/all.hpp>

#include "lib/protocol/handles.hpp"

namespace {

/// Fails a pushed task with an exception of `type`.
void throw_in(fixture& f, std::uint64_t task_id, const std::string& type) {
  f.sub.on_results(
    result_batch({{task_id, std::nullopt, {error_kind::task_failed, "flaky", type, "boom"}}}));
}

} // namespace

TEST_CASE("a task whose worker dies runs again on a new lease while its retries last, "
          "then fails naming its attempts") {
  fixture f;
  f.max_retries = 2;
  auto r = f.submit({value_arg(1)}, "flaky");
  std::uint64_t worker = 7;
  f.sub.on_granted(grant(f.io.requests.back().request_id, worker));
  auto first = f.flushed();
  REQUIRE(first.size() == 1);
  for (std::uint32_t attempt = 2; attempt <= 3; ++attempt) {
    auto requests = f.io.requests.size();
    auto pushes = f.io.pushes.size();
    f.sub.on_worker_died(worker, "worker process killed by signal 9 (SIGKILL)");
    // Still pending, queued again, and a worker is asked for.
    CHECK(f.table.peek(r->id()) == status::pending);
    REQUIRE(f.io.requests.size() == requests + 1);
    auto rows = f.sub.task_rows(10);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].state == "queued");
    CHECK(rows[0].attempt == attempt);
    CHECK(rows[0].last_failure.find("worker_crashed") != std::string::npos);
    CHECK(rows[0].last_failure.find("SIGKILL") != std::string::npos);
    f.sub.on_granted(grant(f.io.requests.back().request_id, ++worker));
    auto again = f.flushed(pushes);
    REQUIRE(again.size() == 1);
    CHECK(again[0].task_id == first[0].task_id);
    CHECK(again[0].return_id == first[0].return_id);
    CHECK(int_of(again[0].args[0]) == 1);
  }
  f.sub.on_worker_died(worker, "worker process killed by signal 9 (SIGKILL)");
  auto e = f.error_of(r);
  CHECK(e.kind == error_kind::worker_crashed);
  CHECK(e.message.find("on attempt 3") != std::string::npos);
  CHECK(f.sub.active_tasks() == 0);
}

TEST_CASE("a task with max_retries 0 fails with its worker, and -1 retries without limit") {
  fixture f;
  auto once = f.submit({value_arg(1)}, "once");
  f.sub.on_granted(grant(f.io.requests.back().request_id, 7));
  f.flushed();
  f.sub.on_worker_died(7, "gone");
  CHECK(f.error_of(once).kind == error_kind::worker_crashed);

  f.max_retries = -1;
  auto forever = f.submit({value_arg(2)}, "forever");
  std::uint64_t worker = 100;
  for (int death = 0; death < 20; ++death) {
    f.sub.on_granted(grant(f.io.requests.back().request_id, ++worker));
    auto pushed = f.flushed(f.io.pushes.size());
    REQUIRE(pushed.size() == 1);
    f.sub.on_worker_died(worker, "gone");
    REQUIRE(f.table.peek(forever->id()) == status::pending);
  }
  f.sub.on_granted(grant(f.io.requests.back().request_id, ++worker));
  auto last = f.flushed(f.io.pushes.size());
  REQUIRE(last.size() == 1);
  f.complete(last[0].task_id);
  CHECK(f.value_of(forever) == 0);
}

TEST_CASE("a node's death runs its tasks again elsewhere") {
  fixture f;
  f.max_retries = 1;
  auto r = f.submit({value_arg(1)}, "moved");
  auto g = grant(f.io.requests.back().request_id, 7);
  g.node_id = 2;
  f.sub.on_granted(g);
  f.flushed();
  f.sub.on_peer_node_down(2, "node 2 died");
  CHECK(f.table.peek(r->id()) == status::pending);
  auto rows = f.sub.task_rows(10);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].last_failure.find("node_died") != std::string::npos);
  g = grant(f.io.requests.back().request_id, 8);
  g.node_id = 3;
  f.sub.on_granted(g);
  auto again = f.flushed(f.io.pushes.size());
  REQUIRE(again.size() == 1);
  f.complete(again[0].task_id);
  CHECK(f.value_of(r) == 0);
}

TEST_CASE("an exception in the retry list runs the task again; one not in it fails it") {
  fixture f;
  f.max_retries = 3;
  f.retry_exceptions = {"std::runtime_error"};
  auto r = f.submit({value_arg(1)}, "flaky");
  f.sub.on_granted(grant(f.io.requests.back().request_id, 7));
  auto first = f.flushed();
  REQUIRE(first.size() == 1);
  throw_in(f, first[0].task_id, "std::runtime_error");
  CHECK(f.table.peek(r->id()) == status::pending);
  // The idle lease takes it again.
  auto second = f.flushed(1);
  REQUIRE(second.size() == 1);
  CHECK(second[0].task_id == first[0].task_id);
  throw_in(f, first[0].task_id, "std::logic_error");
  auto e = f.error_of(r);
  CHECK(e.kind == error_kind::task_failed);
  CHECK(e.exception_type == "std::logic_error");
  CHECK(e.message.find("on attempt 2; attempt 1 failed with task_failed") != std::string::npos);
}

TEST_CASE("without retry_exceptions an exception fails the task at once, with retries left") {
  fixture f;
  f.max_retries = 3;
  auto r = f.submit({value_arg(1)}, "flaky");
  f.sub.on_granted(grant(f.io.requests.back().request_id, 7));
  auto first = f.flushed();
  throw_in(f, first[0].task_id, "std::runtime_error");
  auto e = f.error_of(r);
  CHECK(e.exception_type == "std::runtime_error");
  CHECK(e.message == "boom"); // ran once: nothing about attempts
}

TEST_CASE("retried exceptions count against max_retries") {
  fixture f;
  f.max_retries = 2;
  f.retry_exceptions = true;
  auto r = f.submit({value_arg(1)}, "flaky");
  f.sub.on_granted(grant(f.io.requests.back().request_id, 7));
  int runs = 0;
  for (std::size_t seen = 0; f.table.peek(r->id()) == status::pending; ++runs) {
    auto pushed = f.flushed(seen);
    REQUIRE(pushed.size() == 1);
    seen = f.io.pushes.size();
    throw_in(f, pushed[0].task_id, "my::error");
  }
  CHECK(runs == 3);
  CHECK(f.error_of(r).message.find("on attempt 3") != std::string::npos);
}

TEST_CASE("an answer from an earlier attempt's worker is dropped, and what it stored released") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto worker_a = sys.spawn([](int) -> caf::behavior { return {[](int) {}}; }, 0);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> unpinned;
  object_table table{me,
                     [&](std::uint64_t offset, std::uint64_t node) {
                       unpinned.emplace_back(offset, node);
                     },
                     [](const stored_value&) -> raw_value { throw std::logic_error("none"); }};
  fake_io io;
  submitter sub{table, io, "/opt/app/worker", {}};
  function_entry fn;
  fn.name = "flaky";
  task_record t;
  t.task_id = 1;
  t.fn = &fn;
  t.name = "flaky";
  t.return_id = {me, 1};
  t.resources = {{"CPU", 1}};
  t.max_retries = 1;
  auto ref = table.create_owned(t.return_id, t.name);
  sub.submit(std::move(t));
  lease_grant g = grant(io.requests.back().request_id, 7);
  g.executor = troupe::handle_cast<troupe::executor_actor>(worker_a);
  sub.on_granted(g);
  sub.flush();
  sub.on_worker_died(7, "thought dead"); // queued again, attempt 2
  // The first attempt's worker answers after all, with a stored value.
  capnp::MallocMessageBuilder builder;
  auto r = builder.initRoot<schema::ResultBatch>().initResults(1)[0];
  r.setTaskId(1);
  stored_value v = int_value(5);
  v.inline_data.reset();
  v.in_store = true;
  v.offset = 4096;
  v.size = 4;
  v.node = 9;
  v.id = {me, 1};
  write_value(r.initValue(), v);
  sub.on_results(to_bytes(builder), troupe::handle_cast<caf::strong_actor_ptr>(worker_a));
  CHECK(table.peek(ref->id()) == status::pending);
  CHECK(unpinned == std::vector<std::pair<std::uint64_t, std::uint64_t>>{{4096, 9}});
  CHECK(sub.active_tasks() == 1);
  caf::anon_send_exit(worker_a, caf::exit_reason::user_shutdown);
}

TEST_CASE("a node's death asks again for the workers requested (the request may have been "
          "passed on to it); a late grant of an old request is returned") {
  fixture f;
  auto r = f.submit({value_arg(1)}, "waiting");
  REQUIRE(f.io.requests.size() == 1);
  auto old_request = f.io.requests[0].request_id;
  f.sub.on_peer_node_down(4, "node 4 died");
  CHECK(f.io.cancelled == std::vector<std::uint64_t>{old_request});
  REQUIRE(f.io.requests.size() == 2);
  CHECK(f.io.requests[1].request_id != old_request);
  f.sub.on_granted(grant(old_request, 7));
  CHECK(f.io.returned == std::vector<std::uint64_t>{7});
  f.sub.on_granted(grant(f.io.requests[1].request_id, 8));
  auto pushed = f.flushed();
  REQUIRE(pushed.size() == 1);
  f.complete(pushed[0].task_id);
  CHECK(f.value_of(r) == 0);
}
