// Unit tests of the control store's logic across its directories
// (control_store_state): what a node's death and a process's end lead to.
#include "actors/control_store.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "lib/protocol/status.hpp"

using troupe::actor_phase;
using troupe::actor_record;
using troupe::control_store_state;
using troupe::job_spec;
using troupe::node_info;
using troupe::object_id;

namespace {

control_store_state make_state() {
  control_store_state st;
  st.node.node_id = 77;
  st.node.host = "127.0.0.1";
  st.node.port = 4242;
  return st;
}

job_spec driver(std::int32_t pid, bool embedded, std::uint64_t node = 0) {
  job_spec s;
  s.exe = "/opt/app/driver";
  s.pid = pid;
  s.embedded = embedded;
  s.node_id = node;
  return s;
}

actor_record counter(object_id id, std::string name = "") {
  actor_record r;
  r.id = id;
  r.class_name = "counter";
  r.name = std::move(name);
  return r;
}

/// A cluster of `n` nodes, 1..n.
control_store_state cluster(int n) {
  auto st = make_state();
  node_info info;
  info.host = "10.0.0.1";
  info.port = 6380;
  for (int i = 0; i < n; ++i)
    st.nodes.add(info);
  return st;
}

/// Puts an actor up on worker `n` of node `node`.
void up_on(control_store_state& st, const object_id& id, std::uint64_t node,
           std::uint64_t n = 1) {
  REQUIRE(st.actors.up(id, {}, node << 32 | n));
}

} // namespace

TEST_CASE("jobs get increasing ids; an ended job ends once") {
  auto st = make_state();
  auto a = st.nodes.add_job(driver(100, false));
  auto b = st.nodes.add_job(driver(200, true));
  CHECK(a < b);
  CHECK(st.nodes.jobs().at(b).pid == 200);
  CHECK(st.nodes.jobs().at(b).embedded);
  auto ended = st.nodes.end_job(b);
  REQUIRE(ended);
  CHECK(ended->embedded);
  CHECK_FALSE(st.nodes.jobs().at(b).alive);
  CHECK_FALSE(st.nodes.end_job(b)); // a second down message
  CHECK_FALSE(st.nodes.end_job(12345));
  CHECK(st.nodes.live_jobs().size() == 1);
}

TEST_CASE("describe_json contains the node's address, every job and every actor") {
  auto st = make_state();
  auto doc = troupe::from_json_text<troupe::control_store_status>(st.describe_json());
  CHECK(doc.node.address == "127.0.0.1:4242");
  CHECK(doc.node.id == 77);
  CHECK(doc.jobs.empty());
  auto a = st.nodes.add_job(driver(100, false));
  auto b = st.nodes.add_job(driver(200, true));
  st.nodes.end_job(a);
  REQUIRE(st.actors.add(counter({9, 1}, "c")).accepted);
  auto json = st.describe_json();
  INFO(json);
  doc = troupe::from_json_text<troupe::control_store_status>(json);
  CHECK(doc.jobs == std::vector<troupe::job_row>{{a, 100, false}, {b, 200, true}});
  REQUIRE(doc.actors.size() == 1);
  CHECK(doc.actors[0].state == "pending");
  CHECK(doc.actors[0].name == "c");
}

TEST_CASE("nodes get ids in the order they join") {
  auto st = cluster(3);
  auto list = st.nodes.list();
  REQUIRE(list.nodes.size() == 3);
  CHECK(list.nodes[0].node_id == 1);
  CHECK(list.nodes[2].node_id == 3);
  CHECK(st.nodes.alive(2));
  CHECK_FALSE(st.nodes.alive(4));
}

TEST_CASE(
    "a dead node takes its actors, its drivers' jobs, its owners and copies, once") {
  auto st = cluster(3);
  object_id on2{9, 1}, on3{9, 2};
  REQUIRE(st.actors.add(counter(on2)).accepted);
  REQUIRE(st.actors.add(counter(on3)).accepted);
  up_on(st, on2, 2, 5);
  up_on(st, on3, 3);
  st.actors.resolve(on2, 42); // owner 42 is told when it dies
  st.objects.add_owner(42, {}, 1);
  st.objects.add_owner(43, {}, 2);
  auto job = st.nodes.add_job(driver(300, false, 2));
  st.objects.record_location({{5, 1}, 2, 64, 100, true});

  auto death = st.node_died(2, "heartbeat timeout");
  REQUIRE(death);
  CHECK(death->why == "node 2 died (heartbeat timeout)");
  REQUIRE(death->actors.size() == 1);
  CHECK(death->actors[0].status.id == on2);
  CHECK(death->actors[0].callers == std::vector<std::uint64_t>{42});
  CHECK(death->actors[0].status.death.message == "its node 2 died (heartbeat timeout)");
  CHECK(st.actors.find(on2)->phase == actor_phase::dead);
  CHECK(st.actors.find(on3)->phase == actor_phase::alive);
  REQUIRE(death->jobs.size() == 1);
  CHECK(death->jobs[0].id == job);
  CHECK(death->other_owners.size() == 1); // owner 42 on node 1 is told
  CHECK_FALSE(st.objects.core_of(43));
  CHECK(st.objects.locations_of({5, 1}).nodes.empty());
  CHECK_FALSE(st.nodes.alive(2));

  CHECK_FALSE(st.node_died(2, "again")); // a second report changes nothing
  CHECK_FALSE(st.node_died(42, "unknown"));
}

TEST_CASE("a gone owner is forgotten and leaves its non-detached actors to be killed") {
  auto st = cluster(1);
  st.objects.add_owner(7, {}, 1);
  object_id mine{7, 1}, detached{7, 2}, others{8, 1};
  auto d = counter(detached);
  d.detached = true;
  REQUIRE(st.actors.add(counter(mine)).accepted);
  REQUIRE(st.actors.add(d).accepted);
  REQUIRE(st.actors.add(counter(others)).accepted);
  CHECK(st.owner_gone(7) == std::vector<object_id>{mine});
  CHECK(st.objects.cores().empty());
}
