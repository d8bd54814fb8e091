// Unit tests of the actor directory: the actor state machine, names, and
// who is told what.
#include "actors/actor_directory.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <sys/wait.h>

using troupe::actor_directory;
using troupe::actor_phase;
using troupe::actor_record;
using troupe::error_kind;
using troupe::object_id;
using troupe::process_exit;

namespace {

using callers = std::vector<std::uint64_t>;

actor_record named(object_id id, std::string name, std::string ns = "") {
  actor_record r;
  r.id = id;
  r.class_name = "counter";
  r.name = std::move(name);
  r.name_space = std::move(ns);
  return r;
}

/// Worker `n` of node `node`.
constexpr std::uint64_t worker(std::uint64_t node, std::uint64_t n) {
  return node << 32 | n;
}

process_exit exited(int code) {
  return {code << 8, "worker process 1 exited with status " + std::to_string(code)};
}

process_exit killed_by(int sig) {
  return {sig, "worker process 1 killed by signal " + std::to_string(sig)};
}

} // namespace

TEST_CASE("a name is refused while a living actor has it, in its namespace only") {
  actor_directory d;
  CHECK(d.add(named({1, 1}, "svc")).accepted);
  auto taken = d.add(named({1, 2}, "svc"));
  CHECK_FALSE(taken.accepted);
  CHECK(taken.refusal.kind == error_kind::name_taken);
  CHECK(taken.refusal.message.find("already exists") != std::string::npos);
  CHECK(d.add(named({1, 3}, "svc", "other")).accepted);
  CHECK(d.find_by_name("svc", "")->rec.id == object_id{1, 1});
  CHECK(d.find_by_name("svc", "other")->rec.id == object_id{1, 3});
  CHECK_FALSE(d.find_by_name("svc", "third"));
  // Once dead, its name is free again.
  REQUIRE(d.settle({1, 1}, "killed by troupe::kill"));
  CHECK_FALSE(d.find_by_name("svc", ""));
  CHECK(d.add(named({1, 4}, "svc")).accepted);
}

TEST_CASE("callers of a pending actor are answered when it is up, then when it dies") {
  actor_directory d;
  object_id a{1, 1};
  d.add(named(a, ""));
  CHECK_FALSE(d.resolve(a, 10)); // (pending: answered later)
  CHECK_FALSE(d.resolve(a, 11));
  auto up = d.up(a, {}, worker(1, 1));
  REQUIRE(up);
  CHECK(up->callers == callers{10, 11});
  CHECK(up->status.alive);
  CHECK_FALSE(d.up(a, {}, worker(1, 1))); // (1) only from pending
  auto now = d.resolve(a, 12);
  REQUIRE(now);
  CHECK(now->callers == callers{12});
  CHECK(now->status.alive);
  d.resolve(a, 12); // asked again: told once when it dies
  auto dead = d.settle(a, "killed by troupe::kill");
  REQUIRE(dead);
  CHECK(dead->callers == callers{10, 11, 12});
  CHECK_FALSE(dead->status.alive);
  CHECK(dead->status.death.kind == error_kind::actor_died);
  CHECK(dead->status.death.message == "killed by troupe::kill");
  CHECK_FALSE(d.settle(a, "again")); // settles once
  auto late = d.resolve(a, 13);      // a dead actor is answered at once
  REQUIRE(late);
  CHECK_FALSE(late->status.alive);
}

TEST_CASE("an unknown actor is answered as dead, with no such actor") {
  actor_directory d;
  auto n = d.resolve({5, 5}, 1);
  REQUIRE(n);
  CHECK_FALSE(n->status.alive);
  CHECK(n->status.death.message == "no such actor");
}

TEST_CASE("a dying actor's cause comes from its worker's exit") {
  actor_directory d;
  object_id a{1, 1}, b{1, 2}, c{1, 3};
  for (auto id : {a, b, c})
    d.add(named(id, ""));
  d.up(a, {}, worker(1, 1));
  d.up(b, {}, worker(1, 2));
  d.up(c, {}, worker(1, 3));
  CHECK(d.instance_down(a)); // (3)
  CHECK(d.find(a)->phase == actor_phase::dying);
  CHECK_FALSE(d.instance_down(a));
  CHECK_FALSE(d.resolve(a, 7)); // a dying actor's callers wait for its cause
  auto ended = d.worker_exited(worker(1, 1), exited(0));
  REQUIRE(ended);
  CHECK(ended->first == a);
  CHECK(ended->second == "it ended itself (troupe::exit_actor)");
  auto crashed = d.worker_exited(worker(1, 2), killed_by(SIGSEGV));
  REQUIRE(crashed);
  CHECK(crashed->second == "its worker crashed: worker process 1 killed by signal 11");
  // An exit status that is not 0 is a crash, whatever its text says.
  process_exit misleading{3 << 8, "exited with status 0 (not really)"};
  CHECK(
      d.worker_exited(worker(1, 3), misleading)->second.rfind("its worker crashed", 0) ==
      0);
  CHECK_FALSE(d.worker_exited(worker(2, 1), exited(0))); // no actor there
}

TEST_CASE("a kill is carried out when the actor is up, and names the cause") {
  actor_directory d;
  object_id a{1, 1};
  d.add(named(a, ""));
  CHECK(d.request_kill(a) == 0); // pending: no worker yet
  d.up(a, {}, worker(2, 4));
  CHECK(d.find(a)->kill_requested);
  CHECK(d.request_kill(a) == worker(2, 4));
  auto why = d.worker_exited(worker(2, 4), killed_by(SIGKILL));
  REQUIRE(why);
  CHECK(why->second == "killed by troupe::kill");
  d.settle(a, why->second);
  CHECK(d.request_kill(a) == 0); // dead: nothing to kill
}

TEST_CASE(
    "actors on a node and actors of an owner are found for the rules that end them") {
  actor_directory d;
  object_id on2{7, 1}, on3{7, 2}, detached{7, 3}, pending{8, 1};
  d.add(named(on2, ""));
  d.add(named(on3, ""));
  auto det = named(detached, "");
  det.detached = true;
  d.add(det);
  d.add(named(pending, ""));
  d.up(on2, {}, worker(2, 1));
  d.up(on3, {}, worker(3, 1));
  d.up(detached, {}, worker(2, 2));
  CHECK(d.on_node(2) == std::vector<object_id>{on2, detached});
  CHECK(d.on_node(3) == std::vector<object_id>{on3});
  CHECK(d.owned_by(7) == std::vector<object_id>{on2, on3});
  CHECK(d.owned_by(8) == std::vector<object_id>{pending}); // pending ones too
  d.settle(on2, "x");
  CHECK(d.on_node(2) == std::vector<object_id>{detached});
}
