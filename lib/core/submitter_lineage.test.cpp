// Unit tests of lineage reconstruction in the submitter: the task that made
// a stored object runs again when the object is lost, its lost arguments
// first, within max_retries; what put made cannot be rebuilt.
#include "lib/core/submitter_fixture.hpp"

namespace {

/// A value in node `node`'s store.
stored_value stored_on(std::uint64_t node, std::uint64_t offset) {
  stored_value v = int_value(0);
  v.inline_data.reset();
  v.in_store = true;
  v.node = node;
  v.offset = offset;
  v.size = 4 << 20;
  return v;
}

/// Answers task `task_id` with a value stored in node `node`.
void complete_stored(fixture& f, std::uint64_t task_id, std::uint64_t node,
                     std::uint64_t offset = 4096) {
  capnp::MallocMessageBuilder builder;
  auto r = builder.initRoot<schema::ResultBatch>().initResults(1)[0];
  r.setTaskId(task_id);
  write_value(r.initValue(), stored_on(node, offset));
  f.sub.on_results(to_bytes(builder));
}

/// Runs the last requested lease's tasks on worker `worker` of `node`;
/// returns what was pushed.
std::vector<pushed_task> run_on(fixture& f, std::uint64_t worker, std::uint64_t node) {
  auto g = grant(f.io.requests.back().request_id, worker);
  g.node_id = node;
  auto before = f.io.pushes.size();
  f.sub.on_granted(g);
  return f.flushed(before);
}

} // namespace

TEST_CASE("a stored result keeps its task; losing it runs the task again under its id") {
  fixture f;
  f.max_retries = 2;
  auto r = f.submit({value_arg(7)}, "make");
  auto first = run_on(f, 7, 4);
  REQUIRE(first.size() == 1);
  complete_stored(f, first[0].task_id, 4);
  REQUIRE(f.table.peek(r->id()) == status::ready);
  CHECK(f.sub.lineage_size() == 1);
  CHECK(f.sub.rebuild(r->id()).empty());
  CHECK(f.table.peek(r->id()) == status::pending);
  auto again = run_on(f, 8, 5);
  REQUIRE(again.size() == 1);
  CHECK(again[0].return_id == r->id());
  CHECK(int_of(again[0].args[0]) == 7);
  CHECK(f.sub.task_rows(10)[0].attempt == 2);
  CHECK(f.sub.task_rows(10)[0].last_failure.find("object_lost") != std::string::npos);
  // Asked again while it runs: nothing more is submitted.
  CHECK(f.sub.rebuild(r->id()).empty());
  CHECK(f.sub.active_tasks() == 1);
  complete_stored(f, again[0].task_id, 5);
  stored_value v;
  REQUIRE(f.table.peek(r->id(), &v) == status::ready);
  CHECK(v.node == 5);
  // Attempt 3 is its last (max_retries 2); a fourth is refused.
  CHECK(f.sub.rebuild(r->id()).empty());
  complete_stored(f, run_on(f, 9, 6)[0].task_id, 6);
  auto why = f.sub.rebuild(r->id());
  CHECK(why.find("max_retries are used up") != std::string::npos);
}

TEST_CASE("objects without lineage cannot be rebuilt, and inline results keep none") {
  fixture f;
  auto put = f.table.create_ready({me, 777}, stored_on(4, 8192));
  CHECK(f.sub.rebuild(put->id()).find("made by put") != std::string::npos);
  auto r = f.submit({value_arg(1)}, "small");
  f.complete(run_on(f, 7, 4)[0].task_id); // an inline int
  CHECK(f.sub.lineage_size() == 0);
}

TEST_CASE("a task whose argument was lost with its node waits for the argument's rebuild, "
          "then runs again") {
  fixture f;
  f.max_retries = 1;
  auto a = f.submit({value_arg(1)}, "a");
  auto a_run = run_on(f, 7, 4);
  complete_stored(f, a_run[0].task_id, 4);
  auto b = f.submit({ref_arg(a)}, "b");
  auto b_run = run_on(f, 8, 5);
  REQUIRE(b_run.size() == 1);
  CHECK(b_run[0].args[0].node == 4);
  f.sub.on_peer_node_down(4, "node 4 died");
  f.sub.on_results(result_batch(
    {{b_run[0].task_id, std::nullopt,
      {error_kind::object_lost, "b", "", "argument object cannot be fetched"}}}));
  // b waits; a runs again.
  CHECK(f.table.peek(b->id()) == status::pending);
  CHECK(f.table.peek(a->id()) == status::pending);
  auto a_again = run_on(f, 9, 6);
  REQUIRE(a_again.size() == 1);
  CHECK(a_again[0].name == "a");
  complete_stored(f, a_again[0].task_id, 6);
  auto b_again = f.flushed(f.io.pushes.size());
  if (b_again.empty())
    b_again = run_on(f, 10, 6);
  REQUIRE(b_again.size() == 1);
  CHECK(b_again[0].name == "b");
  CHECK(b_again[0].args[0].node == 6); // the rebuilt value
  f.complete(b_again[0].task_id);
  CHECK(f.value_of(b) == 0);
}

TEST_CASE("an argument the worker names as lost is rebuilt before its node is known dead") {
  fixture f;
  f.max_retries = 1;
  auto a = f.submit({value_arg(1)}, "a");
  complete_stored(f, run_on(f, 7, 4)[0].task_id, 4);
  auto b = f.submit({ref_arg(a)}, "b");
  auto b_run = run_on(f, 8, 5);
  // The pull failed as node 4 went down; this process has not heard yet.
  f.sub.on_results(result_batch(
    {{b_run[0].task_id, std::nullopt,
      {error_kind::object_lost, "b", "",
       "argument object " + a->id().to_string()
         + " (4194304 bytes in node 4's store) cannot be fetched: node 4 died while "
           "sending it"},
      0, a->id()}}));
  CHECK(f.table.peek(b->id()) == status::pending);
  auto a_again = run_on(f, 9, 6);
  REQUIRE(a_again.size() == 1);
  CHECK(a_again[0].name == "a");
  // Another argument's loss would not name it: a plain object_lost fails.
  auto c = f.submit({value_arg(2)}, "c");
  auto c_run = run_on(f, 10, 6);
  f.sub.on_results(result_batch(
    {{c_run[0].task_id, std::nullopt, {error_kind::object_lost, "c", "", "something else"}}}));
  CHECK(f.error_of(c).kind == error_kind::object_lost);
}

TEST_CASE("a borrowed argument the worker names as lost is rebuilt by its owner, then "
          "the task runs again") {
  fixture f;
  // A ref owned by another process, whose value is in node 4's store.
  object_id x{other, 5};
  auto borrowed = f.table.from_wire(x, nullptr);
  REQUIRE(f.table.fulfill(x, stored_on(4, 8192)));
  auto b = f.submit({ref_arg(borrowed)}, "b");
  auto b_run = run_on(f, 8, 5);
  REQUIRE(b_run.size() == 1);
  f.sub.on_results(result_batch(
    {{b_run[0].task_id, std::nullopt,
      {error_kind::object_lost, "b", "", "argument object cannot be fetched"}, 0, x}}));
  // Not failed: its owner is asked to rebuild the argument, which is
  // pending here again.
  CHECK(f.table.peek(b->id()) == status::pending);
  CHECK(f.io.rebuilds == std::vector<object_id>{x});
  CHECK(f.table.peek(x) == status::pending);
  auto pushes = f.io.pushes.size();
  // The owner's new copy arrives: the task runs again.
  REQUIRE(f.table.fulfill(x, stored_on(6, 8192)));
  f.sub.on_object_changed(x);
  f.sub.flush();
  auto again = f.flushed(pushes);
  if (again.empty())
    again = run_on(f, 9, 6);
  REQUIRE(again.size() == 1);
  CHECK(again[0].name == "b");
}
