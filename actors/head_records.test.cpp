// The head's records: what a head writes is what a restarted head loads, and
// the directories take it back as a restart needs.
#include "actors/head_records.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

using namespace troupe;

namespace {

/// A state folder of the test's own, removed after.
struct state_dir {
  std::string path;
  state_dir() {
    char name[] = "/tmp/troupe_head_records_XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~state_dir() { std::filesystem::remove_all(path); }
};

actor_entry sample_actor(std::uint64_t seq, actor_phase phase) {
  actor_entry e;
  e.rec.id = {7, seq};
  e.rec.class_name = "counter";
  e.rec.name = "kv-" + std::to_string(seq);
  e.rec.name_space = "prod";
  e.rec.detached = true;
  e.rec.max_restarts = 3;
  e.rec.max_task_retries = -1;
  e.phase = phase;
  e.worker_id = (std::uint64_t{2} << 32) | 5;
  e.restarts = 1;
  e.death = {error_kind::actor_died, "kv", "", "its worker crashed"};
  e.kill_requested = true;
  e.kill_reason = "killed by troupe::kill";
  e.address = {"10.0.0.2", 4711};
  return e;
}

} // namespace

TEST_CASE("records keep every persisted field of nodes, jobs and actors") {
  node_info n;
  n.node_id = 3;
  n.host = "10.0.0.3";
  n.port = 6379;
  n.segment = "troupe-1-2";
  n.store_capacity = 1ULL << 30;
  n.total = {{"CPU", 4}, {"GPU", 0.5}};
  n.alive = false;
  auto n2 = decode_node(encode_node(n));
  CHECK(n2.node_id == 3);
  CHECK(n2.host == n.host);
  CHECK(n2.port == n.port);
  CHECK(n2.segment == n.segment);
  CHECK(n2.store_capacity == n.store_capacity);
  CHECK(n2.total == n.total);
  CHECK_FALSE(n2.alive);

  job_record j{9, 1234, "/bin/app", false, true, 2, "abc", {}};
  auto j2 = decode_job(encode_job(j));
  CHECK(j2.id == 9);
  CHECK(j2.pid == 1234);
  CHECK(j2.exe == "/bin/app");
  CHECK(j2.alive);
  CHECK(j2.node_id == 2);
  CHECK(j2.exe_hash == "abc");

  auto e = sample_actor(4, actor_phase::restarting);
  auto e2 = decode_actor(encode_actor(e));
  CHECK(e2.rec.id == e.rec.id);
  CHECK(e2.rec.class_name == "counter");
  CHECK(e2.rec.name == "kv-4");
  CHECK(e2.rec.name_space == "prod");
  CHECK(e2.rec.detached);
  CHECK(e2.rec.max_restarts == 3);
  CHECK(e2.rec.max_task_retries == -1);
  CHECK(e2.phase == actor_phase::restarting);
  CHECK(e2.worker_id == e.worker_id);
  CHECK(e2.restarts == 1);
  CHECK(e2.death.message == "its worker crashed");
  CHECK(e2.kill_requested);
  CHECK(e2.kill_reason == e.kill_reason);
  CHECK(e2.address.host == "10.0.0.2");
  CHECK(e2.address.port == 4711);
  CHECK(e2.creation.empty()); // none kept

  e.creation = {e.rec.id, {'\x01', '\0', '\xff', 'x'}, "/bin/app", {{"CPU", 1}, {"GPU", 0.5}},
                troupe::scheduling_strategy::on_node(3, true)};
  auto e3 = decode_actor(encode_actor(e));
  CHECK(e3.creation.id == e.rec.id);
  CHECK(e3.creation.spec == e.creation.spec);
  CHECK(e3.creation.exe == "/bin/app");
  CHECK(e3.creation.resources == e.creation.resources);
  CHECK(e3.creation.strategy.type == troupe::scheduling_strategy::kind::node_affinity);
  CHECK(e3.creation.strategy.node == 3);
  CHECK(e3.creation.strategy.soft);
}

TEST_CASE("a malformed record is a protocol error, not a crash") {
  CHECK_THROWS_AS(decode_actor("abc"), troupe::error);
  CHECK_THROWS_AS(decode_node(std::string(16, '\xff')), troupe::error);
}

TEST_CASE("what a head flushed is what the next head loads; the last write of a key "
          "wins") {
  state_dir dir;
  {
    head_records rec{open_state_store(dir.path)};
    node_info n;
    n.node_id = 1;
    n.host = "h";
    rec.node(n);
    n.node_id = 2;
    rec.node(n);
    rec.job({1, 10, "/a", false, true, 2, "", {}});
    rec.actor(sample_actor(1, actor_phase::alive));
    rec.actor(sample_actor(2, actor_phase::alive));
    rec.actor(sample_actor(2, actor_phase::dead)); // replaces the one before
    rec.counters(5);
    CHECK(rec.pending());
    rec.flush();
    CHECK_FALSE(rec.pending());
    rec.actor(sample_actor(3, actor_phase::alive)); // never flushed: lost with the head
  }
  head_records again{open_state_store(dir.path)};
  auto snap = again.load();
  REQUIRE(snap.nodes.size() == 2);
  CHECK(snap.nodes[1].node_id == 2);
  REQUIRE(snap.jobs.size() == 1);
  CHECK(snap.jobs[0].pid == 10);
  REQUIRE(snap.actors.size() == 2);
  CHECK(snap.actors[0].phase == actor_phase::alive);
  CHECK(snap.actors[1].phase == actor_phase::dead);
  CHECK(snap.next_job == 5);
}

TEST_CASE("a restored living actor waits in pending under its name; its registration "
          "asked again stands; a dead one frees its name") {
  actor_directory d;
  d.track_changes(true);
  d.restore(sample_actor(1, actor_phase::alive));
  d.restore(sample_actor(2, actor_phase::dead));
  CHECK(d.take_changed().empty()); // loaded, not changed
  auto* e = d.find_by_name("kv-1", "prod");
  REQUIRE(e != nullptr);
  CHECK(e->phase == actor_phase::pending);
  CHECK(d.add(e->rec).accepted); // the same actor: its creator asked a dead head
  CHECK(d.find_by_name("kv-2", "prod") == nullptr);
  auto other = sample_actor(9, actor_phase::pending).rec;
  other.name = "kv-1";
  CHECK_FALSE(d.add(other).accepted); // another actor: the name is taken
  CHECK(d.up({7, 1}, executor_actor{}, 42));
  auto changed = d.take_changed();
  REQUIRE(changed.size() == 1);
  CHECK(changed[0] == object_id{7, 1});
}

TEST_CASE("a node that rejoins under its old id gets it back; a new one the next") {
  node_directory d;
  node_info head, member;
  head.node_id = 1;
  member.node_id = 2;
  d.restore({head, member}, {{4, 1, "/a", false, true, 2, "", {}}}, 5);
  d.track_changes(true);
  node_info back;
  back.node_id = 2;
  back.host = "m";
  CHECK(d.add(back).node_id == 2);
  CHECK(d.find(2)->host == "m");
  CHECK(d.add(node_info{}).node_id == 3);
  CHECK(d.resume_job(4, job_spec{}));
  CHECK_FALSE(d.resume_job(7, job_spec{}));
  CHECK(d.add_job(job_spec{}) == 5); // ids go on where they were
  CHECK(d.take_changed_nodes().size() == 2);
  CHECK(d.take_changed_jobs() == std::vector<std::uint64_t>{5});
}

TEST_CASE("placement groups kept by the cluster scheduler's keeper come back as they "
          "were; a removed one does not; the next id goes on") {
  state_dir dir;
  group_spec placed_spec;
  placed_spec.id = 3;
  placed_spec.bundles = {{{"CPU", 1}}, {{"GPU", 0.5}, {"CPU", 2}}};
  placed_spec.strategy = placement_strategy::strict_spread;
  group_state placed;
  placed.id = 3;
  placed.state = group_state::placed;
  placed.nodes = {2, 4};
  group_spec gone_spec;
  gone_spec.id = 4;
  gone_spec.bundles = {{{"CPU", 1}}};
  {
    auto records = std::make_shared<head_records>(open_state_store(dir.path));
    node_info n;
    for (std::uint64_t id : {1, 2, 4}) {
      n.node_id = id;
      n.alive = id != 4; // node 4 died before the head did
      records->node(n);
    }
    records->flush();
    auto keeper = make_group_keeper(records, 1);
    keeper->save(placed_spec, placed, 4);
    keeper->save(gone_spec, group_state{4, group_state::pending, {}, ""}, 5);
    keeper->erase(4);
  }
  auto keeper = make_group_keeper(std::make_shared<head_records>(open_state_store(dir.path)), 1);
  auto r = keeper->load();
  REQUIRE(r.groups.size() == 1);
  auto& [spec, state] = r.groups[0];
  CHECK(spec.id == 3);
  CHECK(spec.bundles == placed_spec.bundles);
  CHECK(spec.strategy == placement_strategy::strict_spread);
  CHECK(state.state == group_state::placed);
  CHECK(state.nodes == std::vector<std::uint64_t>{2, 4});
  CHECK(r.next_group == 5);
  CHECK(r.nodes == std::vector<std::uint64_t>{2}); // alive, and not the head's own
}

TEST_CASE("a placement group record that cannot be one is a protocol error") {
  group_spec spec;
  spec.id = 1;
  spec.bundles = {{{"CPU", 1}}, {{"CPU", 1}}};
  group_state state{1, group_state::placed, {2}, ""}; // two bundles, one node
  CHECK_THROWS_AS(decode_group(encode_group(spec, state)), troupe::error);
  CHECK_THROWS_AS(decode_group("not a record"), troupe::error);
}
