// The cluster scheduler actor in one process: placement groups created,
// asked about and removed through its typed interface (no network, no
// local schedulers: the node joins with none, so no reservation is sent).
#include "scheduler/cluster_scheduler.hpp"

#include <chrono>
#include <cstdint>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "lib/common/ask.hpp"

using namespace std::chrono_literals;
using troupe::group_atom;
using troupe::group_spec;
using troupe::group_state;
using troupe::release_atom;

namespace {

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  troupe::cluster_scheduler_actor cluster = troupe::sched::spawn_cluster_scheduler(sys);

  fixture() {
    caf::anon_send(cluster, troupe::join_atom::value, std::uint64_t{1},
                   troupe::resource_map{{"custom", 100}}, troupe::local_scheduler_actor{});
  }
  ~fixture() { caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown); }

  group_state create(double custom) {
    group_spec spec;
    spec.bundles = {{{"custom", custom}}};
    return troupe::detail::ask<group_state>(sys, cluster, 5s, "create", group_atom::value,
                                            spec);
  }
  group_state state(std::uint64_t id) {
    return troupe::detail::ask<group_state>(sys, cluster, 5s, "state", group_atom::value, id);
  }
  bool release(std::uint64_t id) {
    return troupe::detail::ask<bool>(sys, cluster, 5s, "release", release_atom::value, id);
  }
};

} // namespace

TEST_CASE("removing a placement group is answered once the group is gone") {
  fixture f;
  auto g = f.create(0.001);
  REQUIRE(g.id != 0);
  CHECK(g.state != group_state::removed);
  CHECK(f.release(g.id));
  // The reply came after the removal: the group reads as removed at once.
  CHECK(f.state(g.id).state == group_state::removed);
  // A second removal, or one of a group that never was, is harmless.
  CHECK_FALSE(f.release(g.id));
  CHECK_FALSE(f.release(9999));
}

TEST_CASE("a removed group's resources are free for the next group at once") {
  fixture f;
  // The node has custom: 100. A group holding all of it leaves no room for
  // another until it is removed; the next one then fits.
  auto whole = f.create(100);
  CHECK(f.create(1).state == group_state::pending);
  auto blocked = f.state(whole.id + 1);
  CHECK(blocked.nodes.empty()); // not placed: no room
  REQUIRE(f.release(whole.id));
  CHECK(f.state(whole.id + 1).nodes == std::vector<std::uint64_t>{1});
}

namespace {

/// Keeps groups in memory, as the head's records keep them on disk.
struct memory_keeper : troupe::sched::group_keeper {
  std::map<std::uint64_t, std::pair<group_spec, group_state>> groups;
  std::uint64_t next = 1;
  std::vector<std::uint64_t> alive_nodes;
  void save(const group_spec& spec, const group_state& state, std::uint64_t n) override {
    groups[spec.id] = {spec, state};
    next = n;
  }
  void erase(std::uint64_t id) override { groups.erase(id); }
  restored load() override {
    restored r;
    for (auto& [id, g] : groups)
      r.groups.push_back(g);
    r.next_group = next;
    r.nodes = alive_nodes;
    return r;
  }
};

group_state ask_state(caf::actor_system& sys, const troupe::cluster_scheduler_actor& c,
                      std::uint64_t id) {
  return troupe::detail::ask<group_state>(sys, c, 5s, "state", group_atom::value, id);
}

void join(const troupe::cluster_scheduler_actor& c, std::uint64_t node, double custom) {
  caf::anon_send(c, troupe::join_atom::value, node, troupe::resource_map{{"custom", custom}},
                 troupe::local_scheduler_actor{});
}

} // namespace

TEST_CASE("a restarted cluster scheduler takes its groups back: they wait for their "
          "nodes to join again, new groups wait for every node, ids go on") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto keeper = std::make_shared<memory_keeper>();
  {
    auto first = troupe::sched::spawn_cluster_scheduler(sys, keeper);
    join(first, 1, 10);
    join(first, 2, 10);
    group_spec spec;
    spec.bundles = {{{"custom", 10}}, {{"custom", 10}}};
    spec.strategy = troupe::placement_strategy::strict_spread;
    auto g = troupe::detail::ask<group_state>(sys, first, 5s, "create", group_atom::value,
                                              spec);
    CHECK(g.id == 1);
    CHECK(ask_state(sys, first, 1).state == group_state::placed);
    caf::anon_send_exit(first, caf::exit_reason::kill);
  }
  REQUIRE(keeper->groups.size() == 1);
  CHECK(keeper->groups[1].second.state == group_state::placed);
  keeper->alive_nodes = {2}; // node 2 lived through the head's death
  auto second = troupe::sched::spawn_cluster_scheduler(sys, keeper);
  join(second, 1, 10); // the head's own node, new
  auto restored = ask_state(sys, second, 1);
  CHECK(restored.state == group_state::pending); // a bundle's node is not back
  // A new group is not judged before every node is back: node 1 alone would
  // make a strict spread of two infeasible.
  group_spec spec;
  spec.bundles = {{{"custom", 1}}, {{"custom", 1}}};
  spec.strategy = troupe::placement_strategy::strict_spread;
  auto fresh = troupe::detail::ask<group_state>(sys, second, 5s, "create", group_atom::value,
                                                spec);
  CHECK(fresh.id == 2); // not 1 again
  CHECK(fresh.state == group_state::pending);
  join(second, 2, 10);
  auto back = ask_state(sys, second, 1);
  CHECK(back.state == group_state::placed);
  CHECK(back.nodes == std::vector<std::uint64_t>{1, 2});
  // Nodes 1 and 2 are full with group 1's bundles (by its record): the new
  // group fits nowhere now, but is feasible, so it waits.
  CHECK(ask_state(sys, second, 2).state == group_state::pending);
  CHECK(troupe::detail::ask<bool>(sys, second, 5s, "release", release_atom::value,
                                  std::uint64_t{1}));
  CHECK(keeper->groups.count(1) == 0);
  CHECK(ask_state(sys, second, 2).state == group_state::placed);
  CHECK(keeper->groups[2].second.state == group_state::placed);
  caf::anon_send_exit(second, caf::exit_reason::user_shutdown);
}
