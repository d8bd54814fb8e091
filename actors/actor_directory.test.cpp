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
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].id == a);
  CHECK(ended[0].why == "it ended itself (troupe::exit_actor)");
  auto crashed = d.worker_exited(worker(1, 2), killed_by(SIGSEGV));
  REQUIRE(crashed.size() == 1);
  CHECK(crashed[0].why == "its worker crashed: worker process 1 killed by signal 11");
  // An exit status that is not 0 is a crash, whatever its text says.
  process_exit misleading{3 << 8, "exited with status 0 (not really)"};
  CHECK(
      d.worker_exited(worker(1, 3), misleading).at(0).why.rfind("its worker crashed", 0) ==
      0);
  CHECK(d.worker_exited(worker(2, 1), exited(0)).empty()); // no actor there
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
  REQUIRE(why.size() == 1);
  CHECK(why[0].why == "killed by troupe::kill");
  d.settle(a, why[0].why);
  CHECK(d.request_kill(a) == 0); // dead: nothing to kill
}

TEST_CASE("a kill for another cause gives the actor that death") {
  actor_directory d;
  object_id a{1, 1};
  d.add(named(a, ""));
  d.up(a, {}, worker(2, 4));
  CHECK(d.request_kill(a, true, "its last handle is gone") == worker(2, 4));
  auto why = d.worker_exited(worker(2, 4), killed_by(SIGKILL));
  REQUIRE(why.size() == 1);
  CHECK(why[0].why == "its last handle is gone");
  CHECK_FALSE(why[0].restartable);
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

TEST_CASE("a crashed actor with restarts left restarts: those that knew it are told, those "
          "waiting wait on, and the new instance makes it alive") {
  actor_directory d;
  object_id a{9, 1}; // created by the process of owner id 9
  auto rec = named(a, "svc");
  rec.max_restarts = 2;
  rec.max_task_retries = 1;
  d.add(rec);
  d.up(a, {}, worker(1, 1));
  REQUIRE(d.resolve(a, 7)); // alive: caller 7 subscribes
  for (std::uint32_t n = 1; n <= 2; ++n) {
    auto death = d.died(a, "its worker crashed: signal 9", true, true);
    REQUIRE(death);
    CHECK(death->restarting);
    CHECK(death->restarts == n - 1);
    // Those that knew it alive: 7, and from the second round 8.
    CHECK(death->notice.callers == (n == 1 ? callers{7} : callers{8, 7}));
    CHECK(death->notice.status.restarting);
    CHECK_FALSE(death->notice.status.alive);
    CHECK(death->notice.status.max_task_retries == 1);
    CHECK(death->notice.status.death.message
          == "its worker crashed: signal 9; restarting it (restart " + std::to_string(n)
               + " of 2)");
    CHECK(d.find(a)->phase == actor_phase::restarting);
    CHECK(d.find_by_name("svc", "")); // the name stays taken
    CHECK(d.on_node(1).empty());      // no worker while it restarts
    CHECK_FALSE(d.resolve(a, 8));     // waits for the new instance
    auto up = d.up(a, {}, worker(2, n));
    REQUIRE(up);
    CHECK(up->callers == callers{8});
    CHECK(up->status.alive);
    REQUIRE(d.resolve(a, 7));
  }
  // max_restarts used up: dead, and its creator hears it too.
  auto last = d.died(a, "its worker crashed: signal 9", true, true);
  REQUIRE(last);
  CHECK_FALSE(last->restarting);
  CHECK(d.find(a)->phase == actor_phase::dead);
  CHECK(last->notice.status.death.message.find("max_restarts used up") != std::string::npos);
  CHECK(last->notice.callers == callers{8, 7, 9});
}

TEST_CASE("a death that allows no restart, or whose creator is gone, is final") {
  actor_directory d;
  object_id a{9, 1}, b{9, 2}, c{9, 3};
  for (auto id : {a, b, c}) {
    auto rec = named(id, "");
    rec.max_restarts = -1;
    d.add(rec);
    d.up(id, {}, worker(1, id.seq));
  }
  CHECK_FALSE(d.died(a, "it ended itself (troupe::exit_actor)", false, true)->restarting);
  CHECK(d.find(a)->phase == actor_phase::dead);
  auto orphan = d.died(b, "its worker crashed", true, false);
  CHECK_FALSE(orphan->restarting);
  CHECK(orphan->notice.status.death.message.find("its creator is gone") != std::string::npos);
  // -1: without limit.
  for (int i = 0; i < 50; ++i) {
    REQUIRE(d.died(c, "crash", true, true)->restarting);
    d.up(c, {}, worker(1, 100 + i));
  }
  // And a creation that crashed before it was up restarts as well.
  object_id p{9, 4};
  auto rec = named(p, "");
  rec.max_restarts = 1;
  d.add(rec);
  CHECK(d.died(p, "its worker died while it was built", true, true)->restarting);
  CHECK_FALSE(d.died(object_id{5, 5}, "unknown", true, true));
}

TEST_CASE("only the build an actor waits for may fail it: a late failure of an earlier "
          "build is stale") {
  actor_directory d;
  object_id a{9, 7};
  auto rec = named(a, "");
  rec.max_restarts = 2;
  d.add(rec);
  CHECK(d.building(a, 0)); // pending: its first build
  CHECK_FALSE(d.building(a, 1));
  d.up(a, {}, worker(1, 5));
  CHECK_FALSE(d.building(a, 0)); // up: its build's worker may die only as the actor
  REQUIRE(d.died(a, "its worker crashed", true, true)->restarting);
  CHECK_FALSE(d.building(a, 0)); // the first build's late failure
  CHECK(d.building(a, 1));       // the rebuild it waits for
  CHECK_FALSE(d.building(object_id{5, 5}, 0));
  d.settle(a, "killed");
  CHECK_FALSE(d.building(a, 1));
}

TEST_CASE("without its creator, a detached actor with a kept creation restarts (the "
          "head rebuilds it); a non-detached one keeps none and dies") {
  actor_directory d;
  object_id detached{9, 1}, attached{9, 2};
  for (auto id : {detached, attached}) {
    auto rec = named(id, "");
    rec.max_restarts = 1;
    rec.detached = id == detached;
    d.add(rec);
    d.up(id, {}, worker(1, id.seq));
    troupe::actor_creation c;
    c.id = id;
    c.spec = {'x'};
    CHECK(d.keep_creation(c) == rec.detached);
  }
  auto rebuilt = d.died(detached, "its worker crashed", true, false);
  CHECK(rebuilt->restarting);
  CHECK_FALSE(d.find(detached)->creation.empty());
  auto gone = d.died(attached, "its worker crashed", true, false);
  CHECK_FALSE(gone->restarting);
  CHECK(gone->notice.status.death.message.find("its creator is gone") != std::string::npos);
  CHECK_FALSE(d.keep_creation(troupe::actor_creation{{5, 5}, {'x'}, "", {}, {}})); // unknown
}

TEST_CASE("a kill with no_restart = false lets the actor restart; the default does not") {
  actor_directory d;
  object_id a{9, 1}, b{9, 2};
  for (auto id : {a, b}) {
    auto rec = named(id, "");
    rec.max_restarts = 3;
    d.add(rec);
  }
  d.up(a, {}, worker(1, 1));
  d.up(b, {}, worker(1, 2));
  CHECK(d.request_kill(a, false) == worker(1, 1));
  CHECK(d.request_kill(b) == worker(1, 2));
  auto ea = d.worker_exited(worker(1, 1), killed_by(SIGKILL));
  auto eb = d.worker_exited(worker(1, 2), killed_by(SIGKILL));
  REQUIRE(ea.size() == 1);
  REQUIRE(eb.size() == 1);
  CHECK(ea[0].restartable);
  CHECK_FALSE(eb[0].restartable);
  CHECK(d.died(a, ea[0].why, ea[0].restartable, true)->restarting);
  CHECK(d.find(a)->kill_requested == false); // the new instance is not killed
}

TEST_CASE("a rebuilt instance whose up never came is found by the worker it was built on") {
  actor_directory d;
  object_id a{9, 1};
  auto rec = named(a, "");
  rec.max_restarts = -1;
  d.add(rec);
  d.up(a, {}, worker(1, 1));
  REQUIRE(d.died(a, "its worker crashed", true, true)->restarting); // rebuild 1
  // A stale report of the first creation changes nothing.
  CHECK_FALSE(d.built(a, worker(2, 7), 0));
  CHECK(d.find(a)->worker_id == 0);
  // The rebuild finished on node 3; its up was lost with that node.
  CHECK(d.built(a, worker(3, 8), 1));
  CHECK(d.on_node(3) == std::vector<object_id>{a});
  auto exit = d.worker_exited(worker(3, 8), killed_by(SIGKILL));
  REQUIRE(exit.size() == 1);
  CHECK(exit[0].restartable);
  // Once up, the creator's report is not needed.
  REQUIRE(d.died(a, "its node died", true, true)->restarting); // rebuild 2
  d.up(a, {}, worker(4, 9));
  CHECK_FALSE(d.built(a, worker(4, 9), 2));
}

TEST_CASE("a host's exit is the death of every light actor on it, and of no other") {
  actor_directory d;
  std::vector<object_id> light;
  for (std::uint64_t i = 1; i <= 3; ++i) {
    auto rec = named({5, i}, "");
    rec.shared = true;
    d.add(rec);
    d.up(rec.id, {}, worker(1, 7));
    light.push_back(rec.id);
  }
  object_id elsewhere{5, 9};
  auto rec = named(elsewhere, "");
  rec.shared = true;
  d.add(rec);
  d.up(elsewhere, {}, worker(1, 8));
  auto exits = d.worker_exited(worker(1, 7), killed_by(SIGKILL));
  REQUIRE(exits.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(exits[i].id == light[i]);
    CHECK(exits[i].restartable);
    CHECK(exits[i].why.rfind("its worker crashed", 0) == 0);
  }
  // A host that exits cleanly did not end its actors on purpose.
  auto clean = d.worker_exited(worker(1, 8), exited(0));
  REQUIRE(clean.size() == 1);
  CHECK(clean[0].why == "its host process exited");
  CHECK(clean[0].restartable);
}
