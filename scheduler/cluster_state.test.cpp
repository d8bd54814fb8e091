// Unit tests of the cluster scheduler's placement logic: nodes are added and
// reported by hand, requests and placement groups are placed directly on the
// state struct (no actors, no network).
#include "scheduler/cluster_state.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

using troupe::group_spec;
using troupe::group_state;
using troupe::lease_request;
using troupe::placement_strategy;
using troupe::resource_map;
using troupe::resource_report;
using troupe::scheduling_strategy;
using troupe::sched::cluster_state;

namespace {

const resource_map one_cpu{{"CPU", 1}};
const resource_map four_cpus{{"CPU", 4}};

/// Returns a request for `resources` with the default strategy.
lease_request request(resource_map resources, const std::string& task = "task") {
  lease_request req;
  req.task_name = task;
  req.resources = std::move(resources);
  return req;
}

lease_request with(lease_request req, scheduling_strategy::kind k) {
  req.strategy.type = k;
  return req;
}

lease_request on_node(lease_request req, std::uint64_t node, bool soft) {
  req = with(std::move(req), scheduling_strategy::kind::node_affinity);
  req.strategy.node = node;
  req.strategy.soft = soft;
  return req;
}

lease_request in_group(lease_request req, std::uint64_t group, std::int32_t bundle) {
  req = with(std::move(req), scheduling_strategy::kind::placement_group);
  req.strategy.group = group;
  req.strategy.bundle = bundle;
  return req;
}

group_spec group(std::uint64_t id, std::vector<resource_map> bundles,
                 placement_strategy s) {
  return {id, std::move(bundles), s};
}

/// A cluster of `n` nodes with ids 1..n, each with `total`.
struct fixture {
  cluster_state st;

  explicit fixture(std::size_t n, const resource_map& total = four_cpus) {
    for (std::uint64_t id = 1; id <= n; ++id)
      st.add_node(id, total);
  }

  /// Places `req` from `origin`; the test fails when a `why` comes with a node.
  std::uint64_t place(const lease_request& req, std::uint64_t origin = 1) {
    std::string why;
    auto node = st.place(req, origin, why);
    INFO(why);
    CHECK((node == 0 || why.empty()));
    return node;
  }

  /// Returns the `why` of a request that must not be placed.
  std::string refused(const lease_request& req, std::uint64_t origin = 1) {
    std::string why;
    CHECK(st.place(req, origin, why) == 0);
    return why;
  }

  /// Reports `node` with its total unchanged and `available` CPUs left.
  void report(std::uint64_t node, double cpus_left, std::uint32_t queued = 0) {
    st.update(resource_report{node, st.nodes().at(node).total, {{"CPU", cpus_left}}, queued});
  }

  double cpus(std::uint64_t node) const {
    auto& a = st.nodes().at(node).available;
    auto it = a.find("CPU");
    return it == a.end() ? 0 : it->second;
  }

  bool contains(const std::string& text, const std::string& part) const {
    return text.find(part) != std::string::npos;
  }
};

} // namespace

// -- feasibility and node affinity -------------------------------------------

TEST_CASE("a request no node can ever hold gives 0 and a why naming the task and every node") {
  fixture f{2};
  f.st.add_node(3, {{"CPU", 8}});
  f.st.remove_node(3);
  auto why = f.refused(request({{"GPU", 1}}, "train_model"));
  INFO(why);
  CHECK(f.contains(why, "train_model"));
  CHECK(f.contains(why, "GPU: 1"));
  CHECK(f.contains(why, "node 1 has {CPU: 4}"));
  CHECK(f.contains(why, "node 2 has {CPU: 4}"));
  CHECK(f.contains(why, "node 3 is dead"));
  // Nothing was taken or queued anywhere.
  CHECK(f.cpus(1) == 4);
  CHECK(f.st.nodes().at(1).queued == 0);
  // More of a resource than any node has is infeasible, too.
  CHECK(f.contains(f.refused(request({{"CPU", 5}})), "cannot run on any node"));
}

TEST_CASE("hard node affinity runs on the named node, and names it when it cannot") {
  fixture f{3};
  CHECK(f.place(on_node(request(one_cpu), 3, false), 1) == 3);
  CHECK(f.cpus(3) == 3);
  // Even when that node has no room now: the request queues there.
  f.report(2, 0);
  CHECK(f.place(on_node(request(one_cpu), 2, false), 1) == 2);
  CHECK(f.st.nodes().at(2).queued == 1);

  auto unknown = f.refused(on_node(request(one_cpu, "pinned"), 7, false));
  INFO(unknown);
  CHECK(f.contains(unknown, "pinned"));
  CHECK(f.contains(unknown, "node 7"));
  CHECK(f.contains(unknown, "not in the cluster"));

  f.st.remove_node(3);
  auto dead = f.refused(on_node(request(one_cpu), 3, false));
  INFO(dead);
  CHECK(f.contains(dead, "node 3"));
  CHECK(f.contains(dead, "is dead"));

  // Too small for the named node, though others could run it.
  f.st.add_node(4, one_cpu);
  auto small = f.refused(on_node(request({{"CPU", 2}}), 4, false));
  INFO(small);
  CHECK(f.contains(small, "node 4"));
  CHECK(f.contains(small, "has only {CPU: 1}"));
}

TEST_CASE("soft node affinity prefers the named node and falls back when it is dead or unknown") {
  fixture f{3};
  CHECK(f.place(on_node(request(one_cpu), 2, true), 1) == 2);
  f.st.remove_node(2);
  CHECK(f.place(on_node(request(one_cpu), 2, true), 3) == 3); // the origin, as by default
  CHECK(f.place(on_node(request(one_cpu), 9, true), 1) == 1);
  // Too small for the named node: still placed elsewhere.
  f.st.add_node(4, {{"CPU", 1}});
  CHECK(f.place(on_node(request({{"CPU", 2}}), 4, true), 4) == 1);
}

// -- SPREAD ------------------------------------------------------------------

TEST_CASE("SPREAD places three requests on three distinct nodes, then starts over") {
  fixture f{3};
  auto spread = with(request(one_cpu), scheduling_strategy::kind::spread);
  std::vector<std::uint64_t> got;
  for (int i = 0; i < 4; ++i)
    got.push_back(f.place(spread, 1));
  CHECK(std::set<std::uint64_t>(got.begin(), got.begin() + 3).size() == 3);
  CHECK(got[0] == 1);
  CHECK(got[1] == 2);
  CHECK(got[2] == 3);
  CHECK(got[3] == 1);
  CHECK(f.cpus(1) == 2);
  CHECK(f.cpus(2) == 3);
  CHECK(f.cpus(3) == 3);
}

TEST_CASE("SPREAD skips nodes without room while others have it, and queues when none has") {
  fixture f{3};
  auto spread = with(request(one_cpu), scheduling_strategy::kind::spread);
  f.report(2, 0);
  CHECK(f.place(spread) == 1);
  CHECK(f.place(spread) == 3);
  CHECK(f.place(spread) == 1);
  CHECK(f.place(spread) == 3);
  // Nodes without room still get their turn once no node has any.
  f.report(1, 0);
  f.report(3, 0);
  std::set<std::uint64_t> queued_on;
  for (int i = 0; i < 3; ++i)
    queued_on.insert(f.place(spread));
  CHECK(queued_on == std::set<std::uint64_t>{1, 2, 3});
  CHECK(f.st.nodes().at(2).queued == 1);
  // A dead node is left out of the round.
  f.report(1, 4);
  f.report(2, 4);
  f.report(3, 4);
  f.st.remove_node(2);
  std::set<std::uint64_t> alive_only;
  for (int i = 0; i < 4; ++i)
    alive_only.insert(f.place(spread));
  CHECK(alive_only == std::set<std::uint64_t>{1, 3});
}

// -- the default strategy ----------------------------------------------------

TEST_CASE("default prefers the node with the arguments, then the origin, while they have room") {
  fixture f{3};
  auto req = request(one_cpu);
  req.locality_node = 3;
  CHECK(f.place(req, 2) == 3);
  f.report(3, 0);
  CHECK(f.place(req, 2) == 2); // the locality node is full: the origin
  f.report(2, 0);
  CHECK(f.place(req, 2) == 1); // both full: pack onto the first with room
  // A dead locality node is not chosen.
  f.report(2, 4);
  f.report(3, 4);
  f.st.remove_node(3);
  CHECK(f.place(req, 2) == 2);
}

TEST_CASE("default packs onto the first node that stays at most half used") {
  fixture f{3};
  auto req = request(one_cpu);
  // From an origin that is not a node (0, or unknown), nodes fill in id order
  // up to half their resources.
  CHECK(f.place(req, 0) == 1);
  CHECK(f.place(req, 0) == 1);
  CHECK(f.place(req, 0) == 2);
  CHECK(f.place(req, 99) == 2);
  CHECK(f.place(req, 99) == 3);
  CHECK(f.cpus(1) == 2);
  CHECK(f.cpus(2) == 2);
  CHECK(f.cpus(3) == 3);
  // A node already past half is skipped even though it has room.
  f.report(1, 1);
  f.report(2, 4);
  CHECK(f.place(req, 0) == 2);
}

TEST_CASE("default takes the least utilised node with room when every node is past half") {
  fixture f{3};
  f.report(1, 1); // 75% used
  f.report(2, 2); // 50%: one more CPU makes 75%
  f.report(3, 1);
  CHECK(f.place(request(one_cpu), 0) == 2);
  // Utilisation is the largest share of any resource, not only CPU.
  cluster_state st;
  st.add_node(1, {{"CPU", 4}, {"GPU", 2}});
  st.add_node(2, {{"CPU", 4}, {"GPU", 2}});
  st.update({1, {{"CPU", 4}, {"GPU", 2}}, {{"CPU", 2}, {"GPU", 0}}, 0}); // GPU 100%
  st.update({2, {{"CPU", 4}, {"GPU", 2}}, {{"CPU", 1}, {"GPU", 2}}, 0}); // CPU 75%
  CHECK(cluster_state::utilization(st.nodes().at(1)) == doctest::Approx(1.0));
  CHECK(cluster_state::utilization(st.nodes().at(2)) == doctest::Approx(0.75));
  std::string why;
  CHECK(st.place(request(one_cpu), 0, why) == 2);
}

TEST_CASE("default queues on the origin when no node has room, else on the shortest queue") {
  fixture f{3};
  for (std::uint64_t n = 1; n <= 3; ++n)
    f.report(n, 0, n == 3 ? 0 : 5);
  CHECK(f.place(request(one_cpu), 2) == 2);
  CHECK(f.st.nodes().at(2).queued == 6);
  CHECK(f.cpus(2) == 0); // nothing is taken from a node without room
  CHECK(f.place(request(one_cpu), 0) == 3);
  CHECK(f.st.nodes().at(3).queued == 1);
}

TEST_CASE("a burst of requests does not all go to one node: each placement is deducted at once") {
  fixture f{3, {{"CPU", 2}}};
  std::vector<std::uint64_t> got;
  for (int i = 0; i < 6; ++i)
    got.push_back(f.place(request(one_cpu), 1));
  CHECK(got == std::vector<std::uint64_t>{1, 1, 2, 3, 2, 3});
  for (std::uint64_t n = 1; n <= 3; ++n) {
    CHECK(f.cpus(n) == 0);
    CHECK(f.st.nodes().at(n).queued == 0);
  }
  // The seventh finds no room anywhere and queues on its origin.
  CHECK(f.place(request(one_cpu), 1) == 1);
  CHECK(f.st.nodes().at(1).queued == 1);
}

TEST_CASE("a node's report replaces the deductions and restores what it has available") {
  fixture f{2, {{"CPU", 2}}};
  f.place(request(one_cpu), 1);
  f.place(request(one_cpu), 1);
  CHECK(f.cpus(1) == 0);
  CHECK(f.place(request(one_cpu), 1) == 2);
  f.st.update({1, {{"CPU", 2}}, {{"CPU", 2}}, 0}); // both tasks finished
  CHECK(f.cpus(1) == 2);
  CHECK(f.place(request(one_cpu), 1) == 1);
  CHECK(f.cpus(1) == 1);
  // A report may change the total and the queue length, too.
  f.st.update({2, {{"CPU", 8}}, {{"CPU", 8}}, 3});
  CHECK(f.st.nodes().at(2).total == resource_map{{"CPU", 8}});
  CHECK(f.st.nodes().at(2).queued == 3);
  CHECK(f.place(request({{"CPU", 6}}), 1) == 2);
  // Reports of unknown or dead nodes are ignored.
  f.st.update({9, {{"CPU", 1}}, {{"CPU", 1}}, 0});
  CHECK(f.st.nodes().count(9) == 0);
  f.st.remove_node(2);
  f.st.update({2, {{"CPU", 8}}, {{"CPU", 8}}, 0});
  CHECK_FALSE(f.st.nodes().at(2).alive);
  CHECK(f.st.nodes().at(2).available.empty());
}

TEST_CASE("a removed node is never chosen again") {
  fixture f{2};
  f.st.remove_node(1);
  CHECK_FALSE(f.st.nodes().at(1).alive);
  auto req = request(one_cpu);
  req.locality_node = 1;
  CHECK(f.place(req, 1) == 2);
  CHECK(f.place(with(request(one_cpu), scheduling_strategy::kind::spread), 1) == 2);
  CHECK(f.place(with(request(one_cpu), scheduling_strategy::kind::spread), 1) == 2);
  // Nothing alive is left: the request is infeasible, and the why says so.
  f.st.remove_node(2);
  auto why = f.refused(request(one_cpu));
  INFO(why);
  CHECK(f.contains(why, "node 1 is dead"));
  CHECK(f.contains(why, "node 2 is dead"));
  // A node that joins again is placeable.
  f.st.add_node(2, four_cpus);
  CHECK(f.place(request(one_cpu), 1) == 2);
}

// -- placement groups --------------------------------------------------------

TEST_CASE("a PACK group that fits one node is placed there, its resources taken") {
  fixture f{3};
  auto& st = f.st.add_group(group(1, {{{"CPU", 2}}, {{"CPU", 2}}}, placement_strategy::pack));
  CHECK(st.state == group_state::placed);
  CHECK(st.id == 1);
  CHECK(st.nodes == std::vector<std::uint64_t>{1, 1});
  CHECK(st.why.empty());
  CHECK(f.cpus(1) == 0);
  CHECK(f.cpus(2) == 4);
  // PACK that fits no node spreads as little as it can, unlike STRICT_PACK.
  auto& big = f.st.add_group(group(2, {{{"CPU", 3}}, {{"CPU", 3}}}, placement_strategy::pack));
  CHECK(big.state == group_state::placed);
  CHECK(big.nodes == std::vector<std::uint64_t>{2, 3});
}

TEST_CASE("STRICT_PACK is infeasible when no node can hold the sum of its bundles") {
  fixture f{3};
  auto& st =
    f.st.add_group(group(1, {{{"CPU", 3}}, {{"CPU", 3}}}, placement_strategy::strict_pack));
  CHECK(st.state == group_state::infeasible);
  INFO(st.why);
  CHECK(f.contains(st.why, "STRICT_PACK"));
  CHECK(f.contains(st.why, "CPU: 6"));
  CHECK(st.nodes.empty());
  for (std::uint64_t n = 1; n <= 3; ++n)
    CHECK(f.cpus(n) == 4);
  // One that fits is packed on a single node.
  auto& ok =
    f.st.add_group(group(2, {{{"CPU", 2}}, {{"CPU", 2}}}, placement_strategy::strict_pack));
  CHECK(ok.state == group_state::placed);
  CHECK(ok.nodes == std::vector<std::uint64_t>{1, 1});
}

TEST_CASE("SPREAD and STRICT_SPREAD put the bundles on distinct nodes") {
  fixture f{3};
  std::vector<resource_map> three(3, one_cpu);
  auto& spread = f.st.add_group(group(1, three, placement_strategy::spread));
  CHECK(spread.state == group_state::placed);
  CHECK(std::set<std::uint64_t>(spread.nodes.begin(), spread.nodes.end()).size() == 3);
  auto& strict = f.st.add_group(group(2, three, placement_strategy::strict_spread));
  CHECK(strict.state == group_state::placed);
  CHECK(std::set<std::uint64_t>(strict.nodes.begin(), strict.nodes.end()).size() == 3);
  for (std::uint64_t n = 1; n <= 3; ++n)
    CHECK(f.cpus(n) == 2);
  // SPREAD over more bundles than nodes is placed, some nodes twice.
  auto& more = f.st.add_group(group(3, std::vector<resource_map>(4, one_cpu),
                                    placement_strategy::spread));
  CHECK(more.state == group_state::placed);
  CHECK(std::set<std::uint64_t>(more.nodes.begin(), more.nodes.end()).size() == 3);
}

TEST_CASE("STRICT_SPREAD over more bundles than alive nodes is infeasible, and says why") {
  fixture f{3};
  f.st.add_node(4, four_cpus);
  f.st.remove_node(4);
  auto& st = f.st.add_group(
    group(1, std::vector<resource_map>(4, one_cpu), placement_strategy::strict_spread));
  CHECK(st.state == group_state::infeasible);
  INFO(st.why);
  CHECK(f.contains(st.why, "STRICT_SPREAD"));
  CHECK(f.contains(st.why, "needs 4 nodes"));
  CHECK(f.contains(st.why, "3 alive"));
  for (std::uint64_t n = 1; n <= 3; ++n)
    CHECK(f.cpus(n) == 4);
}

TEST_CASE("a group with no bundles, or a bundle no node can hold, is infeasible") {
  fixture f{2};
  auto& empty = f.st.add_group(group(1, {}, placement_strategy::pack));
  CHECK(empty.state == group_state::infeasible);
  CHECK(f.contains(empty.why, "at least one bundle"));
  auto& gpu = f.st.add_group(group(2, {one_cpu, {{"GPU", 1}}}, placement_strategy::spread));
  CHECK(gpu.state == group_state::infeasible);
  INFO(gpu.why);
  CHECK(f.contains(gpu.why, "SPREAD"));
  CHECK(f.contains(gpu.why, "bundle 1 {GPU: 1} does not fit on any node"));
  CHECK(f.cpus(1) == 4);
  CHECK(f.cpus(2) == 4);
}

TEST_CASE("a group that does not fit now stays pending until a report frees resources") {
  fixture f{2};
  f.report(1, 1);
  f.report(2, 1);
  auto& st = f.st.add_group(group(5, {{{"CPU", 2}}}, placement_strategy::strict_pack));
  CHECK(st.state == group_state::pending);
  CHECK(st.nodes.empty());
  CHECK(st.why.empty());
  CHECK(f.cpus(1) == 1); // nothing reserved while pending
  CHECK(f.st.place_pending_groups().empty());
  f.report(2, 3);
  CHECK(f.st.place_pending_groups() == std::vector<std::uint64_t>{5});
  auto* g = f.st.find_group(5);
  REQUIRE(g != nullptr);
  CHECK(g->state.state == group_state::placed);
  CHECK(g->state.nodes == std::vector<std::uint64_t>{2});
  CHECK(f.cpus(2) == 1);
  CHECK(f.st.place_pending_groups().empty()); // placed once only
}

TEST_CASE("a pending group is placed when a node joins") {
  fixture f{1};
  auto& st = f.st.add_group(
    group(1, std::vector<resource_map>(2, one_cpu), placement_strategy::strict_spread));
  CHECK(st.state == group_state::infeasible); // one node: never, with what is known now
  f.report(1, 0);
  auto& pending = f.st.add_group(group(2, {{{"CPU", 2}}}, placement_strategy::pack));
  CHECK(pending.state == group_state::pending);
  f.st.add_node(2, four_cpus);
  CHECK(f.st.place_pending_groups() == std::vector<std::uint64_t>{2});
  CHECK(f.st.find_group(2)->state.nodes == std::vector<std::uint64_t>{2});
}

TEST_CASE("remove_group gives the bundles' resources back and the group is removed") {
  fixture f{3};
  f.st.add_group(group(1, {{{"CPU", 2}}, {{"CPU", 3}}}, placement_strategy::spread));
  CHECK(f.cpus(1) == 2);
  CHECK(f.cpus(2) == 1);
  auto before = f.st.remove_group(1);
  CHECK(before.state == group_state::placed);
  CHECK(before.nodes == std::vector<std::uint64_t>{1, 2});
  CHECK(f.cpus(1) == 4);
  CHECK(f.cpus(2) == 4);
  CHECK(f.st.find_group(1)->state.state == group_state::removed);
  // Removing it again gives nothing back twice.
  auto again = f.st.remove_group(1);
  CHECK(again.state == group_state::removed);
  CHECK(f.cpus(1) == 4);
  // A pending group gives nothing back; an unknown one is a no-op.
  f.report(1, 0);
  f.report(2, 0);
  f.report(3, 0);
  f.st.add_group(group(2, {one_cpu}, placement_strategy::pack));
  CHECK(f.st.remove_group(2).state == group_state::pending);
  CHECK(f.cpus(1) == 0);
  CHECK(f.st.remove_group(42).nodes.empty());
  CHECK(f.st.find_group(42) == nullptr);
  // A removed pending group is not placed later.
  f.report(1, 4);
  CHECK(f.st.place_pending_groups().empty());
}

TEST_CASE("removing a group whose node died gives back only to the alive nodes") {
  fixture f{2};
  f.st.add_group(group(1, {{{"CPU", 2}}, {{"CPU", 2}}}, placement_strategy::strict_spread));
  f.st.remove_node(2);
  auto before = f.st.remove_group(1);
  CHECK(before.nodes == std::vector<std::uint64_t>{1, 2});
  CHECK(f.cpus(1) == 4);
  CHECK(f.st.nodes().at(2).available.empty());
}

// -- requests in placement groups --------------------------------------------

TEST_CASE("a request in a placement group goes to its bundle's node without taking from it") {
  fixture f{3};
  f.st.add_group(group(1, {one_cpu, {{"CPU", 2}}}, placement_strategy::strict_spread));
  auto nodes = f.st.find_group(1)->state.nodes;
  REQUIRE(nodes.size() == 2);
  auto cpus_before = std::vector<double>{f.cpus(1), f.cpus(2), f.cpus(3)};
  CHECK(f.place(in_group(request(one_cpu), 1, 1), 3) == nodes[1]);
  CHECK(f.place(in_group(request(one_cpu), 1, 0), 3) == nodes[0]);
  // Any bundle (-1): the first whose size holds the request.
  CHECK(f.place(in_group(request(one_cpu), 1, -1), 3) == nodes[0]);
  CHECK(f.place(in_group(request({{"CPU", 2}}), 1, -1), 3) == nodes[1]);
  // The bundle's resources were reserved when the group was placed.
  CHECK(std::vector<double>{f.cpus(1), f.cpus(2), f.cpus(3)} == cpus_before);
  CHECK(f.st.nodes().at(nodes[0]).queued == 0);
}

TEST_CASE("a request that fits no bundle of its group is refused with a why") {
  fixture f{2};
  f.st.add_group(group(1, {one_cpu, {{"CPU", 2}}}, placement_strategy::spread));
  auto any = f.refused(in_group(request({{"CPU", 3}}, "big"), 1, -1));
  INFO(any);
  CHECK(f.contains(any, "big"));
  CHECK(f.contains(any, "does not fit in any bundle of placement group 1"));
  auto one = f.refused(in_group(request({{"CPU", 2}}), 1, 0));
  INFO(one);
  CHECK(f.contains(one, "does not fit in bundle 0 of placement group 1"));
  auto out_of_range = f.refused(in_group(request(one_cpu), 1, 5));
  INFO(out_of_range);
  CHECK(f.contains(out_of_range, "bundle 5"));
  CHECK(f.contains(out_of_range, "which has 2"));
}

TEST_CASE("a request in a pending group waits (0, no why); an unknown, removed or infeasible one is refused") {
  fixture f{2};
  f.report(1, 0);
  f.report(2, 0);
  f.st.add_group(group(1, {one_cpu}, placement_strategy::pack));
  REQUIRE(f.st.find_group(1)->state.state == group_state::pending);
  std::string why;
  CHECK(f.st.place(in_group(request(one_cpu), 1, 0), 1, why) == 0);
  CHECK(why.empty());

  auto unknown = f.refused(in_group(request(one_cpu), 9, 0));
  CHECK(f.contains(unknown, "placement group 9"));
  CHECK(f.contains(unknown, "does not exist"));

  f.st.remove_group(1);
  CHECK(f.contains(f.refused(in_group(request(one_cpu), 1, 0)), "removed"));

  f.st.add_group(group(2, {{{"GPU", 1}}}, placement_strategy::pack));
  auto infeasible = f.refused(in_group(request(one_cpu), 2, 0));
  INFO(infeasible);
  CHECK(f.contains(infeasible, "can never be placed"));
  CHECK(f.contains(infeasible, "GPU: 1"));
}

TEST_CASE("a request in a bundle whose node died is refused naming the bundle") {
  fixture f{2};
  f.st.add_group(group(1, {one_cpu, one_cpu}, placement_strategy::strict_spread));
  auto nodes = f.st.find_group(1)->state.nodes;
  REQUIRE(nodes.size() == 2);
  f.st.remove_node(nodes[1]);
  auto why = f.refused(in_group(request(one_cpu), 1, 1));
  INFO(why);
  CHECK(f.contains(why, "bundle 1"));
  CHECK(f.contains(why, "dead"));
  CHECK(f.place(in_group(request(one_cpu), 1, 0)) == nodes[0]);
}


TEST_CASE("a request in any bundle skips a bundle whose node died for one on an alive node") {
  // cluster_state.hpp: "placement group: the node of the bundle (or of any
  // bundle with room)".
  fixture f{2};
  f.st.add_group(group(1, {one_cpu, one_cpu}, placement_strategy::strict_spread));
  auto nodes = f.st.find_group(1)->state.nodes;
  REQUIRE(nodes.size() == 2);
  f.st.remove_node(nodes[0]);
  CHECK(f.place(in_group(request(one_cpu), 1, -1)) == nodes[1]);
}

TEST_CASE("a group whose bundles fit nodes one by one but never all together is infeasible") {
  // cluster_state.hpp: "pending --(2) they can never fit (totals,
  // strictness)--> infeasible"; scheduling.hpp: wait() throws when no set of
  // nodes can ever hold the bundles.
  SUBCASE("PACK of two 3-CPU bundles on one 4-CPU node") {
    fixture f{1};
    auto& st = f.st.add_group(group(1, {{{"CPU", 3}}, {{"CPU", 3}}}, placement_strategy::pack));
    CHECK(st.state == group_state::infeasible);
  }
  SUBCASE("STRICT_SPREAD of two 2-CPU bundles on a 4-CPU and a 1-CPU node") {
    fixture f{1};
    f.st.add_node(2, one_cpu);
    auto& st = f.st.add_group(
      group(1, {{{"CPU", 2}}, {{"CPU", 2}}}, placement_strategy::strict_spread));
    CHECK(st.state == group_state::infeasible);
  }
}
