// Unit tests of the control store's logic (control_store_state).
#include "actors/control_store.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "lib/protocol/status.hpp"

using troupe::control_store_state;
using troupe::job_spec;

namespace {

control_store_state make_state() {
  control_store_state st;
  st.node.node_id = 77;
  st.node.host = "127.0.0.1";
  st.node.port = 4242;
  return st;
}

job_spec driver(std::int32_t pid, bool embedded) {
  job_spec s;
  s.exe = "/opt/app/driver";
  s.pid = pid;
  s.embedded = embedded;
  return s;
}

} // namespace

TEST_CASE("add_job gives increasing ids and records the driver") {
  auto st = make_state();
  auto a = st.add_job(driver(100, false));
  auto b = st.add_job(driver(200, false));
  auto c = st.add_job(driver(300, true));
  CHECK(a < b);
  CHECK(b < c);
  REQUIRE(st.jobs.size() == 3);
  CHECK(st.jobs.at(b).pid == 200);
  CHECK(st.jobs.at(b).exe == "/opt/app/driver");
  CHECK(st.jobs.at(c).embedded);
  CHECK(st.jobs.at(a).alive);
}

TEST_CASE("job_ended stops the node only for the embedded driver, and only once") {
  auto st = make_state();
  auto plain = st.add_job(driver(100, false));
  auto embedded = st.add_job(driver(200, true));
  CHECK_FALSE(st.job_ended(plain));
  CHECK_FALSE(st.jobs.at(plain).alive);
  CHECK_FALSE(st.job_ended(plain));
  CHECK(st.job_ended(embedded));
  CHECK_FALSE(st.jobs.at(embedded).alive);
  CHECK_FALSE(st.job_ended(embedded)); // a second down message
  CHECK_FALSE(st.job_ended(12345));    // unknown job
}

TEST_CASE("describe_json contains the node's address and every job") {
  auto st = make_state();
  auto json = st.describe_json();
  INFO(json);
  auto doc = troupe::from_json_text<troupe::control_store_status>(json);
  CHECK(doc.node.address == "127.0.0.1:4242");
  CHECK(doc.node.id == 77);
  CHECK(doc.jobs.empty());

  auto a = st.add_job(driver(100, false));
  auto b = st.add_job(driver(200, true));
  st.job_ended(a);
  json = st.describe_json();
  INFO(json);
  doc = troupe::from_json_text<troupe::control_store_status>(json);
  CHECK(doc.jobs == std::vector<troupe::job_row>{{a, 100, false}, {b, 200, true}});
}

TEST_CASE("nodes get ids in the order they join; a dead node gives up its actors once") {
  control_store_state st;
  troupe::node_info head;
  head.host = "10.0.0.1";
  head.port = 6380;
  auto h = st.add_node(head);
  auto a = st.add_node(head);
  auto b = st.add_node(head);
  CHECK(h.node_id == 1);
  CHECK(a.node_id == 2);
  CHECK(b.node_id == 3);
  CHECK(st.nodes.at(2).alive);
  // An actor on node 2 (worker ids are node << 32 | n) and one on node 3.
  troupe::actor_record on2, on3;
  on2.id = {9, 1};
  on2.class_name = "counter";
  on3.id = {9, 2};
  on3.class_name = "counter";
  REQUIRE(st.register_actor(on2).empty());
  REQUIRE(st.register_actor(on3).empty());
  st.find(on2.id)->worker_id = (2ULL << 32) | 5;
  st.find(on2.id)->st = troupe::actor_entry::phase::alive;
  st.find(on3.id)->worker_id = (3ULL << 32) | 1;
  st.find(on3.id)->st = troupe::actor_entry::phase::alive;
  auto lost = st.node_died(2);
  REQUIRE(lost.size() == 1);
  CHECK(lost[0] == on2.id);
  CHECK_FALSE(st.nodes.at(2).alive);
  CHECK(st.node_died(2).empty()); // a second report changes nothing
  CHECK(st.node_died(42).empty());
  auto json = st.describe_json();
  INFO(json);
  auto doc = troupe::from_json_text<troupe::control_store_status>(json);
  REQUIRE(doc.nodes.size() == 3);
  CHECK(doc.nodes[1].id == 2);
  CHECK(doc.nodes[1].address == "10.0.0.1:6380");
  CHECK_FALSE(doc.nodes[1].alive);
  REQUIRE(doc.actors.size() == 2);
  CHECK(doc.actors[0].class_name == "counter");
  CHECK(doc.actors[1].node == 3);
}

TEST_CASE("the object directory tracks every node's copy until it goes or its node dies") {
  control_store_state st;
  troupe::node_info n;
  for (int i = 0; i < 3; ++i)
    st.add_node(n);
  troupe::object_id x{5, 1};
  st.record_location({x, 1, 4096, 1000, true});
  st.record_location({x, 2, 8192, 1000, true});
  st.record_location({x, 3, 64, 1000, true});
  auto l = st.locations_of(x);
  CHECK(l.size == 1000);
  CHECK(l.nodes == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(l.offsets == std::vector<std::uint64_t>{4096, 8192, 64});
  st.record_location({x, 1, 0, 0, false}); // freed on node 1
  st.node_died(3);
  l = st.locations_of(x);
  CHECK(l.nodes == std::vector<std::uint64_t>{2});
  CHECK(l.offsets == std::vector<std::uint64_t>{8192});
  // A report from a dead node is not believed; the last copy going
  // forgets the object.
  st.record_location({x, 3, 64, 1000, true});
  CHECK(st.locations_of(x).nodes.size() == 1);
  st.record_location({x, 2, 0, 0, false});
  CHECK(st.locations_of(x).nodes.empty());
  CHECK(st.locations.empty());
}
