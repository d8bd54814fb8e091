// The head's rebuilds of actors whose creator is gone, driven without actors.
#include "actors/actor_rebuilder.hpp"

#include <doctest/doctest.h>

#include "lib/protocol/capnp_codec.hpp"
#include "troupe/errors.hpp"

using namespace troupe;

namespace {

/// A creation as a creator keeps it: one TaskSpec with an inline argument.
actor_creation sample_creation(const object_id& actor) {
  capnp::MallocMessageBuilder b;
  auto spec = b.initRoot<schema::TaskBatch>().initTasks(1)[0];
  spec.setTaskId(41);
  spec.setFunction("make_counter");
  spec.setName("counter");
  detail::write_object_id(spec.initActorId(), actor);
  detail::write_object_id(spec.initReturnId(), {actor.owner, 99});
  auto arg = spec.initArgs(1)[0];
  arg.setInline(kj::arrayPtr(reinterpret_cast<const kj::byte*>("seven"), 5));
  actor_creation c;
  c.id = actor;
  c.spec = detail::to_bytes(b);
  c.exe = "/bin/app";
  c.resources = {{"CPU", 1}};
  c.strategy = scheduling_strategy::on_node(2);
  return c;
}

std::vector<char> answer(std::uint64_t task_id, const error_info* why) {
  capnp::MallocMessageBuilder b;
  auto r = b.initRoot<schema::ResultBatch>().initResults(1)[0];
  r.setTaskId(task_id);
  if (why)
    detail::write_error(r.initError(), *why);
  else
    r.initValue().setInline(kj::arrayPtr(reinterpret_cast<const kj::byte*>("x"), 1));
  return detail::to_bytes(b);
}

} // namespace

TEST_CASE("a rebuild leases a worker of its own as the creator did, pushes the kept "
          "creation as the next restart, and reports where it was built") {
  rebuild_state st;
  object_id actor{7, 3};
  auto req = st.start(actor, 1, sample_creation(actor), core_actor{});
  CHECK(req.dedicated);
  CHECK(req.exe == "/bin/app");
  CHECK(req.resources == resource_map{{"CPU", 1}});
  CHECK(req.strategy.type == scheduling_strategy::kind::node_affinity);
  CHECK(req.strategy.node == 2);
  CHECK(st.under_way() == 1);

  CHECK_FALSE(st.granted(lease_grant{req.request_id + 1, 5}).has_value()); // nobody's
  auto batch = st.granted(lease_grant{req.request_id, (std::uint64_t{2} << 32) | 4});
  REQUIRE(batch.has_value());
  detail::message_reader reader{*batch};
  auto tasks = reader.root<schema::TaskBatch>().getTasks();
  REQUIRE(tasks.size() == 1);
  CHECK(std::string{tasks[0].getFunction().cStr()} == "make_counter");
  CHECK(tasks[0].getRestarts() == 2); // rebuilt once before: this is the second
  CHECK(detail::read_object_id(tasks[0].getActorId()) == actor);
  REQUIRE(tasks[0].getArgs().size() == 1);
  CHECK(tasks[0].getArgs()[0].getInline().size() == 5); // the factory's argument

  CHECK(st.done(answer(tasks[0].getTaskId() + 1, nullptr)).empty()); // not ours
  auto built = st.done(answer(tasks[0].getTaskId(), nullptr));
  REQUIRE(built.size() == 1);
  CHECK(built[0].id == actor);
  CHECK(built[0].worker_id == ((std::uint64_t{2} << 32) | 4));
  CHECK(built[0].restarts == 2);
  CHECK_FALSE(built[0].error.has_value());
  CHECK(st.under_way() == 0);
}

TEST_CASE("a rebuild that cannot be placed, whose factory throws or whose worker dies "
          "fails naming why") {
  rebuild_state st;
  object_id a{7, 1}, b{7, 2}, c{7, 3};
  auto ra = st.start(a, 0, sample_creation(a), core_actor{});
  auto denied = st.denied(ra.request_id, "node 2 is dead");
  REQUIRE(denied.has_value());
  CHECK(denied->error->kind == error_kind::unschedulable);
  CHECK(denied->error->message.find("node 2 is dead") != std::string::npos);

  auto rb = st.start(b, 0, sample_creation(b), core_actor{});
  auto batch = st.granted(lease_grant{rb.request_id, 11});
  REQUIRE(batch.has_value());
  detail::message_reader reader{*batch};
  auto tid = reader.root<schema::TaskBatch>().getTasks()[0].getTaskId();
  error_info threw{error_kind::task_failed, "counter", "std::runtime_error", "no"};
  auto failed = st.done(answer(tid, &threw));
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].error->kind == error_kind::task_failed);

  auto rc = st.start(c, 0, sample_creation(c), core_actor{});
  REQUIRE(st.granted(lease_grant{rc.request_id, 12}).has_value());
  CHECK_FALSE(st.worker_died(13, "killed").has_value());
  auto died = st.worker_died(12, "killed by signal 9");
  REQUIRE(died.has_value());
  CHECK(died->error->kind == error_kind::worker_crashed);
  CHECK(st.under_way() == 0);
}

TEST_CASE("a kept creation that is not a task is a protocol error at the grant") {
  rebuild_state st;
  actor_creation bad;
  bad.id = {7, 9};
  bad.spec = {'n', 'o', 'p', 'e', 'n', 'o', 'p', 'e'};
  auto r = st.start(bad.id, 0, bad, core_actor{});
  CHECK_THROWS_AS(st.granted(lease_grant{r.request_id, 1}), troupe::error);
}
