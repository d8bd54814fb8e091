// Unit tests of the submitter's actor calls across restarts: calls lost with
// an instance are sent again to the next one within max_task_retries, calls
// made meanwhile wait, and a creation is run again to rebuild its actor.
#include "lib/core/submitter_fixture.hpp"

#include <caf/all.hpp>

#include "lib/protocol/handles.hpp"

namespace {

/// A submitter fixture with an actor system for instance handles.
struct actor_fixture : fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  object_id actor{me, 900};
  std::vector<caf::actor> instances;

  ~actor_fixture() {
    for (auto& i : instances)
      caf::anon_send_exit(i, caf::exit_reason::user_shutdown);
  }

  troupe::executor_actor new_instance() {
    instances.push_back(sys.spawn([](int) -> caf::behavior { return {[](int) {}}; }, 0));
    return troupe::handle_cast<troupe::executor_actor>(instances.back());
  }

  /// Calls a method of the actor; returns its result's handle.
  ref_ptr call(const std::string& name) {
    task_record t;
    t.task_id = next_task++;
    t.fn = &fn;
    t.name = name;
    t.return_id = {me, next_obj++};
    t.actor_id = actor;
    return_of[t.task_id] = t.return_id;
    auto ref = table.create_owned(t.return_id, t.name);
    sub.submit(std::move(t));
    return ref;
  }

  void alive(const troupe::executor_actor& instance, int max_task_retries) {
    troupe::actor_status st;
    st.id = actor;
    st.alive = true;
    st.instance = instance;
    st.max_task_retries = max_task_retries;
    sub.on_actor_status(st);
  }

  void restarting(int max_task_retries) {
    troupe::actor_status st;
    st.id = actor;
    st.restarting = true;
    st.max_task_retries = max_task_retries;
    st.death = {error_kind::actor_died, "svc", "",
                "its worker crashed: killed by signal 9; restarting it (restart 1 of 3)"};
    sub.on_actor_status(st);
  }

  /// The names of the calls of every push since `from`, flushing first.
  std::vector<std::string> pushed_names(std::size_t from) {
    std::vector<std::string> out;
    for (auto& t : flushed(from))
      out.push_back(t.name);
    return out;
  }
};

using names = std::vector<std::string>;

} // namespace

TEST_CASE("calls lost with a restarting instance go to the new one, in order, while "
          "max_task_retries lasts; calls made meanwhile wait for it") {
  actor_fixture f;
  f.alive(f.new_instance(), 1);
  auto c1 = f.call("c1");
  auto c2 = f.call("c2");
  CHECK(f.pushed_names(0) == names{"c1", "c2"});
  f.restarting(1);
  auto c3 = f.call("c3");
  CHECK(f.pushed_names(1).empty()); // nothing goes out while it restarts
  CHECK(f.table.peek(c1->id()) == status::pending);
  f.alive(f.new_instance(), 1);
  CHECK(f.pushed_names(1) == names{"c1", "c2", "c3"});
  // A second loss: c1 and c2 used their one retry, c3 has it still.
  f.restarting(1);
  for (auto& r : {c1, c2}) {
    auto e = f.error_of(r);
    CHECK(e.kind == error_kind::actor_died);
    CHECK(e.message.find("restarting it") != std::string::npos);
    CHECK(e.message.find("on attempt 2") != std::string::npos);
  }
  f.alive(f.new_instance(), 1);
  CHECK(f.pushed_names(2) == names{"c3"});
  f.complete(3); // c3
  CHECK(f.value_of(c3) == 0);
}

TEST_CASE("with max_task_retries 0 a call lost with its instance fails, saying it restarts") {
  actor_fixture f;
  f.alive(f.new_instance(), 0);
  auto c1 = f.call("c1");
  f.pushed_names(0);
  f.restarting(0);
  auto e = f.error_of(c1);
  CHECK(e.kind == error_kind::actor_died);
  CHECK(e.message.find("restarting it (restart 1 of 3)") != std::string::npos);
  // A call made now goes to the rebuilt instance.
  auto c2 = f.call("c2");
  f.alive(f.new_instance(), 0);
  CHECK(f.pushed_names(1) == names{"c2"});
}

TEST_CASE("an instance replaced unseen (no restarting notice) loses its calls too") {
  actor_fixture f;
  f.alive(f.new_instance(), 0);
  auto c1 = f.call("c1");
  f.pushed_names(0);
  f.alive(f.new_instance(), 0);
  CHECK(f.error_of(c1).message.find("restarted while the call ran") != std::string::npos);
}

namespace {

/// The creation of actor `actor`, which may restart `max_restarts` times.
task_record creation(fixture& f, const object_id& actor, int max_restarts) {
  task_record t;
  t.task_id = f.next_task++;
  t.fn = &f.fn;
  t.name = "create svc";
  t.return_id = {me, f.next_obj++};
  t.actor_id = actor;
  t.creates_actor = true;
  t.max_restarts = max_restarts;
  t.resources = {{"CPU", 1}};
  return t;
}

} // namespace

TEST_CASE("a restart runs the actor's creation again, with its arguments, as its next rebuild") {
  fixture f;
  object_id actor{me, 900};
  auto t = creation(f, actor, 2);
  auto a = value_arg(5);
  a.value.own();
  t.args.push_back(std::move(a));
  auto created = f.table.create_owned(t.return_id, t.name);
  f.sub.submit(std::move(t));
  f.sub.on_granted(grant(f.io.requests.back().request_id, 7));
  auto first = f.flushed();
  REQUIRE(first.size() == 1);
  f.complete(first[0].task_id);
  CHECK(f.sub.active_tasks() == 0);
  auto pushes = f.io.pushes.size();
  f.sub.on_restart(actor, 0);
  f.sub.on_granted(grant(f.io.requests.back().request_id, 8));
  f.sub.flush();
  REQUIRE(f.io.pushes.size() == pushes + 1);
  message_reader reader{f.io.pushes.back()};
  auto spec = reader.root<schema::TaskBatch>().getTasks()[0];
  CHECK(std::string{spec.getName().cStr()} == "create svc");
  CHECK(read_object_id(spec.getActorId()) == actor);
  CHECK(spec.getRestarts() == 1);
  CHECK(int_of(read_value(spec.getArgs()[0])) == 5);
  CHECK(spec.getTaskId() != first[0].task_id);
}

TEST_CASE("a restart asked before the creation's answer arrives rebuilds from the creation") {
  // The instance answers calls on a path of its own: it may be up, killed
  // and restarted before its creator hears that the creation finished.
  fixture f;
  object_id actor{me, 901};
  auto t = creation(f, actor, -1);
  auto created = f.table.create_owned(t.return_id, t.name);
  f.sub.submit(std::move(t));
  f.sub.on_granted(grant(f.io.requests.back().request_id, 7));
  auto first = f.flushed();
  REQUIRE(first.size() == 1);
  auto pushes = f.io.pushes.size();
  f.sub.on_restart(actor, 0); // the creation's answer is still on its way
  f.sub.on_granted(grant(f.io.requests.back().request_id, 8));
  f.sub.flush();
  REQUIRE(f.io.pushes.size() == pushes + 1);
  message_reader reader{f.io.pushes.back()};
  auto spec = reader.root<schema::TaskBatch>().getTasks()[0];
  CHECK(read_object_id(spec.getActorId()) == actor);
  CHECK(spec.getRestarts() == 1);
  f.complete(first[0].task_id); // the late answer changes nothing more
}

namespace {

/// Submits the creation of `actor` and pushes it to worker 7 of `node`, as
/// a grant and a flush do; returns the handle of its result.
ref_ptr push_creation(fixture& f, const object_id& actor, int max_restarts,
                      std::uint64_t node = 0) {
  auto t = creation(f, actor, max_restarts);
  auto created = f.table.create_owned(t.return_id, t.name);
  f.sub.submit(std::move(t));
  auto g = grant(f.io.requests.back().request_id, 7);
  g.node_id = node;
  f.sub.on_granted(g);
  REQUIRE(f.flushed().size() == 1);
  return created;
}

} // namespace

TEST_CASE("a creation whose worker dies before it answers fails with the crash, once; the "
          "control store decides on a rebuild") {
  // The worker is no lease of ours once the creation went out, and the
  // control store knows it as the actor's only when the actor is up.
  fixture f;
  object_id actor{me, 902};
  auto created = push_creation(f, actor, 1);
  f.sub.on_worker_died(7, "worker process 1007 killed by signal 9 (SIGKILL)");
  REQUIRE(f.io.created.size() == 1);
  CHECK(f.io.created[0].id == actor);
  CHECK(f.io.created[0].restarts == 0);
  REQUIRE(f.io.created[0].error);
  CHECK(f.io.created[0].error->kind == error_kind::worker_crashed);
  CHECK(f.io.created[0].error->message.find("SIGKILL") != std::string::npos);
  CHECK(f.sub.active_tasks() == 0);
  f.sub.on_worker_died(7, "told again");
  CHECK(f.io.created.size() == 1);
  // The rebuild the control store asks for runs the creation again.
  auto pushes = f.io.pushes.size();
  f.sub.on_restart(actor, 0);
  f.sub.on_granted(grant(f.io.requests.back().request_id, 8));
  f.sub.flush();
  REQUIRE(f.io.pushes.size() == pushes + 1);
  message_reader reader{f.io.pushes.back()};
  CHECK(reader.root<schema::TaskBatch>().getTasks()[0].getRestarts() == 1);
}

TEST_CASE("a creation building on a node that dies fails with the node's death") {
  fixture f;
  object_id actor{me, 903};
  auto created = push_creation(f, actor, 0, 3);
  f.sub.on_peer_node_down(4, "node 4 died"); // another node: nothing
  CHECK(f.io.created.empty());
  f.sub.on_peer_node_down(3, "node 3 died");
  REQUIRE(f.io.created.size() == 1);
  REQUIRE(f.io.created[0].error);
  CHECK(f.io.created[0].error->kind == error_kind::node_died);
  CHECK(f.io.created[0].error->message == "node 3 died");
}

TEST_CASE("a creation answered before its worker dies is done: the death is the actor's") {
  fixture f;
  object_id actor{me, 904};
  auto t = creation(f, actor, 1);
  auto created = f.table.create_owned(t.return_id, t.name);
  f.sub.submit(std::move(t));
  f.sub.on_granted(grant(f.io.requests.back().request_id, 7));
  auto first = f.flushed();
  REQUIRE(first.size() == 1);
  f.complete(first[0].task_id);
  REQUIRE(f.io.created.size() == 1);
  CHECK_FALSE(f.io.created[0].error);
  f.sub.on_worker_died(7, "worker process 1007 killed by signal 9 (SIGKILL)");
  CHECK(f.io.created.size() == 1); // the control store settles it
}

TEST_CASE("light actors' calls wait for flush_light, then go to each host's core in one "
          "message, in the order made") {
  actor_fixture f;
  auto host_a = troupe::handle_cast<troupe::core_actor>(
    f.instances.emplace_back(f.sys.spawn([](int) -> caf::behavior { return {[](int) {}}; }, 0)));
  auto host_b = troupe::handle_cast<troupe::core_actor>(
    f.instances.emplace_back(f.sys.spawn([](int) -> caf::behavior { return {[](int) {}}; }, 0)));
  object_id first = f.actor, second{me, 901}, third{me, 902};
  std::vector<troupe::executor_actor> inst;
  auto light_alive = [&](const object_id& id, const troupe::core_actor& host) {
    troupe::actor_status st;
    st.id = id;
    st.alive = true;
    st.instance = inst.emplace_back(f.new_instance());
    st.worker_core = host;
    st.shared = true;
    f.sub.on_actor_status(st);
  };
  light_alive(f.actor, host_a);
  light_alive(second, host_a);
  light_alive(third, host_b);
  f.call("a1");
  f.actor = second;
  f.call("b1");
  f.actor = third;
  f.call("c1");
  f.actor = first;
  f.call("a2");
  CHECK(f.flushed(0).empty()); // held back: more may come before the core reads on
  CHECK(f.io.light_flush_asked);
  f.sub.flush_light();
  REQUIRE(f.io.host_pushes.size() == 2);
  CHECK(f.io.host_pushes[0].first == host_a);
  CHECK(f.io.host_pushes[0].second
        == std::vector<std::uint64_t>{inst[0].id(), inst[1].id()});
  CHECK(f.io.host_pushes[1].first == host_b);
  CHECK(f.io.host_pushes[1].second == std::vector<std::uint64_t>{inst[2].id()});
  CHECK(f.pushed_names(0) == names{"a1", "a2", "b1", "c1"}); // per actor, in order
  f.sub.flush_light();
  CHECK(f.io.host_pushes.size() == 2); // nothing held back twice
}
