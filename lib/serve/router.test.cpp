#include "router.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <set>

using namespace troupe::serve::detail;
using namespace std::chrono_literals;

namespace {

target fixed(std::string route, std::string version, int n) {
  target t;
  t.route = std::move(route);
  t.version = std::move(version);
  t.num_replicas = n;
  return t;
}

/// Runs the plan and marks every new replica ready, as the control loop would.
plan_steps plan_and_ready(router& r, const std::string& name,
                          router::clock::time_point now = router::clock::now()) {
  auto steps = r.plan(now);
  for (auto& s : steps.starts)
    r.ready(name, s.id);
  return steps;
}

} // namespace

TEST_CASE("routes match by longest prefix at a path boundary") {
  router r;
  r.set_target("a", fixed("/api", "1", 1));
  r.set_target("b", fixed("/api/models", "1", 1));
  r.set_target("root", fixed("/", "1", 1));
  CHECK(r.route("/api") == "a");
  CHECK(r.route("/api/x") == "a");
  CHECK(r.route("/api/models/7") == "b");
  CHECK(r.route("/apix") == "root");
  r.remove("root");
  CHECK_FALSE(r.route("/other").has_value());
}

TEST_CASE("replicas start to the target and take requests by fewest outstanding") {
  router r;
  r.set_target("m", fixed("/m", "1", 3));
  CHECK_FALSE(r.pick("m").has_value()); // none yet
  auto steps = r.plan(router::clock::now());
  REQUIRE(steps.starts.size() == 3);
  CHECK(r.plan(router::clock::now()).starts.empty()); // starting ones count
  CHECK_FALSE(r.converged("m"));
  for (auto& s : steps.starts)
    r.ready("m", s.id);
  CHECK(r.converged("m"));
  std::set<std::uint64_t> first_three{*r.pick("m"), *r.pick("m"), *r.pick("m")};
  CHECK(first_three.size() == 3); // each took one
  auto a = *first_three.begin();
  r.done("m", a, false, false);
  CHECK(r.pick("m") == a); // the one with none outstanding
}

TEST_CASE("a replica found dead is replaced") {
  router r;
  r.set_target("m", fixed("/m", "1", 2));
  plan_and_ready(r, "m");
  auto id = *r.pick("m");
  r.done("m", id, false, true);
  CHECK_FALSE(r.converged("m"));
  auto steps = plan_and_ready(r, "m");
  CHECK(steps.starts.size() == 1);
  CHECK(r.converged("m"));
  CHECK(r.deployments().at("m").requests == 0); // a lost request is not an answer
}

TEST_CASE("a new version drains the old only once its replicas serve") {
  router r;
  r.set_target("m", fixed("/m", "1", 2));
  plan_and_ready(r, "m");
  auto busy = *r.pick("m"); // an old replica with a request in flight
  r.set_target("m", fixed("/m", "2", 2));
  auto steps = r.plan(router::clock::now());
  REQUIRE(steps.starts.size() == 2);
  CHECK(steps.kills.empty()); // the old serve until the new are ready
  auto other = r.pick("m"); // the old still serve meanwhile
  REQUIRE(other.has_value());
  r.done("m", *other, false, false);
  for (auto& s : steps.starts)
    r.ready("m", s.id);
  steps = r.plan(router::clock::now());
  CHECK(steps.kills.size() == 1); // the idle old one; the busy one drains
  for (int i = 0; i < 10; ++i) {
    auto id = *r.pick("m");
    CHECK(id != busy); // draining: no new requests
    r.done("m", id, false, false);
  }
  r.done("m", busy, false, false);
  CHECK(r.plan(router::clock::now()).kills == std::vector<std::uint64_t>{busy});
  CHECK(r.converged("m"));
}

TEST_CASE("autoscaling follows the outstanding requests, down only after the delay") {
  router r;
  target t = fixed("/m", "1", 1);
  t.autoscaling = true;
  t.min_replicas = 1;
  t.max_replicas = 3;
  t.target_ongoing_requests = 2;
  t.downscale_delay_s = 5;
  r.set_target("m", t);
  auto t0 = router::clock::now();
  plan_and_ready(r, "m", t0);
  std::vector<std::uint64_t> held;
  for (int i = 0; i < 5; ++i)
    held.push_back(*r.pick("m")); // 5 outstanding: ceil(5 / 2) = 3
  auto steps = plan_and_ready(r, "m", t0);
  CHECK(steps.starts.size() == 2);
  for (auto id : held)
    r.done("m", id, false, false);
  CHECK(r.plan(t0 + 1s).kills.empty());  // below since t0 + 1 s
  CHECK(r.plan(t0 + 4s).kills.empty());  // not 5 s yet
  CHECK(r.plan(t0 + 7s).kills.size() == 2); // down to min_replicas
  CHECK(r.converged("m"));
}

TEST_CASE("three failed starts in a row stop the starting, until a new target") {
  router r;
  r.set_target("m", fixed("/m", "1", 1));
  for (int i = 0; i < 3; ++i) {
    auto steps = r.plan(router::clock::now());
    REQUIRE(steps.starts.size() == 1);
    r.start_failed("m", steps.starts[0].id, "constructor threw");
  }
  CHECK(r.start_failures("m") == 3);
  CHECK(r.plan(router::clock::now()).starts.empty());
  CHECK(r.deployments().at("m").last_error == "constructor threw");
  r.set_target("m", fixed("/m", "2", 1));
  CHECK(r.plan(router::clock::now()).starts.size() == 1);
}
