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
