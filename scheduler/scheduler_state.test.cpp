// Unit tests of the local scheduler's logic, driven through a fake
// scheduler_io that records what it would do. Requesters are scoped actors of
// a small actor system (no middleman), only so that they have distinct
// addresses for cancel and holder_down.
#include "scheduler/scheduler_state.hpp"
#include "lib/protocol/handles.hpp"
#include "lib/protocol/status.hpp"

#include <algorithm>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <doctest/doctest.h>
#include <sys/wait.h>

namespace {

using troupe::core_actor;
using troupe::executor_actor;
using troupe::handle_cast;
using troupe::lease_grant;
using troupe::lease_request;
using troupe::resource_map;
using troupe::worker_hello;
using troupe::sched::scheduler_io;
using troupe::sched::scheduler_state;

const std::string exe = "/opt/app/driver";

/// Records every effect of the scheduler; pids count up from 4001.
struct fake_io : scheduler_io {
  struct started {
    std::string exe;
    std::uint64_t worker_id;
    int pid;
  };
  struct granted {
    caf::actor_addr to;
    lease_grant grant;
  };
  struct denied {
    caf::actor_addr to;
    std::uint64_t request_id;
    std::string why;
  };
  struct died {
    caf::actor_addr holder;
    std::uint64_t worker_id;
    std::string why;
  };

  std::vector<started> starts;
  std::vector<granted> grants;
  std::vector<denied> denials;
  std::vector<died> deaths;
  std::vector<int> kills;
  int last_pid = 4000;

  int start_worker(const std::string& e, std::uint64_t id) override {
    starts.push_back({e, id, ++last_pid});
    return last_pid;
  }
  void grant(const core_actor& to, const lease_grant& g) override {
    grants.push_back({to.address(), g});
  }
  void deny(const core_actor& to, std::uint64_t id, const std::string& why) override {
    denials.push_back({to.address(), id, why});
  }
  void worker_died(const core_actor& holder, std::uint64_t id,
                   const std::string& why) override {
    deaths.push_back({holder.address(), id, why});
  }
  void kill_worker(int pid) override { kills.push_back(pid); }
  void dedicated_worker_exited(std::uint64_t worker_id,
                               const troupe::process_exit& how) override {
    exited.emplace_back(worker_id, how.description);
  }
  std::vector<std::pair<std::uint64_t, std::string>> exited;
  void spill(const lease_request& req) override { spills.push_back(req); }
  std::vector<lease_request> spills;
};

caf::actor_system_config& small_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 1);
  return cfg;
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{small_config(cfg)};
  std::vector<std::unique_ptr<caf::scoped_actor>> selves;
  fake_io io;
  std::unique_ptr<scheduler_state> st;
  std::size_t registered = 0;
  std::uint64_t next_request = 1;

  explicit fixture(resource_map total, std::size_t max_workers = 8) {
    st = std::make_unique<scheduler_state>(io, std::move(total), max_workers);
  }

  ~fixture() {
    st.reset(); // drops its actor handles before the system goes
    io = {};
  }

  /// Returns a new actor to stand for a submitter's core actor (only its
  /// identity matters to the scheduler).
  core_actor actor() { return stand_in<core_actor>(); }
  /// Returns a new actor to stand for a worker's executor.
  executor_actor executor() { return stand_in<executor_actor>(); }

  template <class Handle>
  Handle stand_in() {
    selves.push_back(std::make_unique<caf::scoped_actor>(sys));
    return handle_cast<Handle>(caf::actor{*selves.back()});
  }

  /// Registers every started worker that has not registered yet.
  void register_all(const executor_actor& executor = {}) {
    for (; registered < io.starts.size(); ++registered) {
      auto& s = io.starts[registered];
      st->on_register(worker_hello{s.worker_id, s.pid, executor, {}});
    }
  }

  /// Sends a lease request; returns its id.
  std::uint64_t lease(const core_actor& requester, resource_map resources,
                      const std::string& task = "task", const std::string& e = exe) {
    auto id = next_request++;
    st->on_lease(lease_request{id, e, std::move(resources), task, requester});
    return id;
  }

  double available(const std::string& r) const {
    auto it = st->available().find(r);
    return it == st->available().end() ? 0 : it->second;
  }

  int pid_of(std::uint64_t worker_id) const {
    for (auto& s : io.starts)
      if (s.worker_id == worker_id)
        return s.pid;
    return -1;
  }
};

const resource_map one_cpu{{"CPU", 1}};

} // namespace

TEST_CASE(
    "prestart starts the requested number of workers and no more than max_workers") {
  fixture f{{{"CPU", 2}}, 5};
  f.st->prestart(exe, 3);
  REQUIRE(f.io.starts.size() == 3);
  for (auto& s : f.io.starts)
    CHECK(s.exe == exe);
  CHECK(f.io.starts[0].worker_id != f.io.starts[1].worker_id);
  CHECK(f.io.starts[1].worker_id != f.io.starts[2].worker_id);
  CHECK(f.st->worker_count() == 3);
  f.st->prestart(exe, 2); // the pool already has 3
  CHECK(f.io.starts.size() == 3);
  f.st->prestart(exe, 4);
  CHECK(f.io.starts.size() == 4);
  f.st->prestart("/other/exe", 10); // capped by max_workers
  CHECK(f.io.starts.size() == 5);
  CHECK(f.io.starts.back().exe == "/other/exe");
  CHECK(f.io.grants.empty());
}

TEST_CASE("a lease is granted only after a worker registers") {
  fixture f{{{"CPU", 2}}};
  f.st->prestart(exe, 1);
  auto a = f.actor();
  auto id = f.lease(a, one_cpu);
  CHECK(f.io.grants.empty());
  CHECK(f.st->pending_requests() == 1);
  CHECK(f.available("CPU") == 2); // nothing is taken before a grant
  f.register_all();
  REQUIRE(f.io.grants.size() == 1);
  auto& g = f.io.grants[0];
  CHECK(g.to == a.address());
  CHECK(g.grant.request_id == id);
  CHECK(g.grant.worker_id == f.io.starts[0].worker_id);
  CHECK(g.grant.pid == f.io.starts[0].pid);
  CHECK(f.st->pending_requests() == 0);
  CHECK(f.available("CPU") == 1);
  CHECK(f.io.starts.size() == 1); // no extra worker was started
}

TEST_CASE("a request with no idle worker starts one on demand") {
  fixture f{{{"CPU", 2}}};
  auto a = f.actor();
  f.lease(a, one_cpu);
  REQUIRE(f.io.starts.size() == 1);
  CHECK(f.io.starts[0].exe == exe);
  f.lease(a, one_cpu);
  CHECK(f.io.starts.size() == 2);
  CHECK(f.io.grants.empty());
  f.register_all();
  CHECK(f.io.grants.size() == 2);
  // A request that cannot fit now starts no worker; it waits.
  f.lease(a, one_cpu);
  CHECK(f.io.starts.size() == 2);
  CHECK(f.st->pending_requests() == 1);
}

TEST_CASE("a registration from an unknown or already registered worker is ignored") {
  fixture f{{{"CPU", 2}}};
  f.st->prestart(exe, 1);
  f.register_all();
  auto a = f.actor();
  f.st->on_register(worker_hello{999, 1, {}, {}});
  f.lease(a, one_cpu);
  REQUIRE(f.io.grants.size() == 1);
  // The leased worker says hello again (a restart of its actors): it stays leased.
  f.st->on_register(
      worker_hello{f.io.starts[0].worker_id, 1, {}, {}});
  f.lease(a, one_cpu);
  CHECK(f.io.grants.size() == 1);
  CHECK(f.available("CPU") == 1);
}

TEST_CASE("an infeasible request is denied at once naming the task and the resources") {
  fixture f{{{"CPU", 2}}};
  f.st->prestart(exe, 1);
  f.register_all();
  auto a = f.actor();
  auto id = f.lease(a, {{"CPU", 1}, {"GPU", 1}}, "train_model");
  REQUIRE(f.io.denials.size() == 1);
  auto& d = f.io.denials[0];
  CHECK(d.to == a.address());
  CHECK(d.request_id == id);
  CHECK(d.why.find("train_model") != std::string::npos);
  CHECK(d.why.find("GPU: 1") != std::string::npos);
  CHECK(d.why.find("CPU: 2") != std::string::npos);
  CHECK(f.io.grants.empty());
  CHECK(f.st->pending_requests() == 0);
  CHECK(f.io.starts.size() == 1);
  // More CPUs than the node has is infeasible, too.
  f.lease(a, {{"CPU", 3}}, "too_big");
  CHECK(f.io.denials.size() == 2);
  // A request that merely does not fit now is not denied.
  f.lease(a, {{"CPU", 2}});
  f.lease(a, {{"CPU", 2}});
  CHECK(f.io.denials.size() == 2);
}

TEST_CASE("two CPU=1 leases on a 2-CPU node are granted and a third waits for a return") {
  fixture f{{{"CPU", 2}}};
  f.st->prestart(exe, 3);
  f.register_all();
  auto a = f.actor();
  auto r1 = f.lease(a, one_cpu);
  auto r2 = f.lease(a, one_cpu);
  auto r3 = f.lease(a, one_cpu);
  REQUIRE(f.io.grants.size() == 2);
  CHECK(f.io.grants[0].grant.request_id == r1);
  CHECK(f.io.grants[1].grant.request_id == r2);
  CHECK(f.io.grants[0].grant.worker_id != f.io.grants[1].grant.worker_id);
  CHECK(f.st->pending_requests() == 1);
  CHECK(f.available("CPU") == 0);
  f.st->on_return(f.io.grants[0].grant.worker_id);
  REQUIRE(f.io.grants.size() == 3);
  CHECK(f.io.grants[2].grant.request_id == r3);
  CHECK(f.available("CPU") == 0);
  // Returning twice gives nothing back twice.
  auto w = f.io.grants[1].grant.worker_id;
  f.st->on_return(w);
  f.st->on_return(w);
  CHECK(f.available("CPU") == 1);
  f.st->on_return(12345); // unknown
  CHECK(f.available("CPU") == 1);
}

TEST_CASE("a blocked worker gives its CPU back so a waiting request is granted, "
          "unblocking takes it again") {
  fixture f{{{"CPU", 1}}};
  f.st->prestart(exe, 2);
  f.register_all();
  auto a = f.actor();
  f.lease(a, one_cpu);
  auto waiting = f.lease(a, one_cpu);
  REQUIRE(f.io.grants.size() == 1);
  auto blocker = f.io.grants[0].grant.worker_id;
  f.st->on_blocked(blocker);
  REQUIRE(f.io.grants.size() == 2);
  CHECK(f.io.grants[1].grant.request_id == waiting);
  CHECK(f.io.grants[1].grant.worker_id != blocker);
  CHECK(f.available("CPU") == 0);
  f.st->on_blocked(blocker); // twice: no second give-back
  CHECK(f.available("CPU") == 0);
  f.st->on_unblocked(blocker);
  CHECK(f.available("CPU") == -1); // oversubscribed for a while
  f.st->on_unblocked(blocker);
  CHECK(f.available("CPU") == -1);
  auto third = f.lease(a, one_cpu);
  f.st->on_return(f.io.grants[1].grant.worker_id);
  CHECK(f.available("CPU") == 0);
  CHECK(f.io.grants.size() == 2); // still no room for the third
  f.st->on_return(blocker);
  REQUIRE(f.io.grants.size() == 3);
  CHECK(f.io.grants[2].grant.request_id == third);
}

TEST_CASE("a worker returned or dead while blocked does not give its CPU back twice") {
  fixture f{{{"CPU", 1}}};
  f.st->prestart(exe, 2);
  f.register_all();
  auto a = f.actor();
  f.lease(a, one_cpu);
  auto w = f.io.grants[0].grant.worker_id;
  f.st->on_blocked(w);
  CHECK(f.available("CPU") == 1);
  f.st->on_return(w);
  CHECK(f.available("CPU") == 1);
  f.st->on_unblocked(w); // late: the lease is over
  CHECK(f.available("CPU") == 1);

  f.lease(a, one_cpu);
  REQUIRE(f.io.grants.size() == 2);
  auto w2 = f.io.grants[1].grant.worker_id;
  f.st->on_blocked(w2);
  f.st->on_child_exit(f.pid_of(w2), 9);
  CHECK(f.available("CPU") == 1);
  CHECK(f.io.deaths.size() == 1);
}

TEST_CASE("fractional resources: two 0.5 CPU leases fit in one CPU") {
  fixture f{{{"CPU", 1}}};
  f.st->prestart(exe, 3);
  f.register_all();
  auto a = f.actor();
  f.lease(a, {{"CPU", 0.5}});
  f.lease(a, {{"CPU", 0.5}});
  CHECK(f.io.grants.size() == 2);
  f.lease(a, {{"CPU", 0.5}});
  CHECK(f.io.grants.size() == 2);
  CHECK(f.st->pending_requests() == 1);
  f.st->on_return(f.io.grants[0].grant.worker_id);
  CHECK(f.io.grants.size() == 3);
}

TEST_CASE("ten 0.1 CPU leases fit in one CPU despite rounding") {
  fixture f{{{"CPU", 1}}, 16};
  f.st->prestart(exe, 11);
  f.register_all();
  auto a = f.actor();
  for (int i = 0; i < 11; ++i)
    f.lease(a, {{"CPU", 0.1}});
  CHECK(f.io.grants.size() == 10);
  CHECK(f.st->pending_requests() == 1);
}

TEST_CASE("a leased worker that is killed tells its holder why and is replaced") {
  fixture f{{{"CPU", 2}}};
  f.st->prestart(exe, 2);
  f.register_all();
  auto a = f.actor();
  f.lease(a, one_cpu);
  REQUIRE(f.io.grants.size() == 1);
  auto w = f.io.grants[0].grant.worker_id;
  auto pid = f.io.grants[0].grant.pid;
  CHECK(f.available("CPU") == 1);
  f.st->on_child_exit(pid, 9); // the wait status of a process killed by SIGKILL
  REQUIRE(f.io.deaths.size() == 1);
  CHECK(f.io.deaths[0].holder == a.address());
  CHECK(f.io.deaths[0].worker_id == w);
  CHECK(f.io.deaths[0].why.find("killed by signal 9 (SIGKILL)") != std::string::npos);
  CHECK(f.io.deaths[0].why.find(std::to_string(pid)) != std::string::npos);
  CHECK(f.available("CPU") == 2);
  // The pool keeps its size.
  CHECK(f.io.starts.size() == 3);
  CHECK(f.io.starts.back().exe == exe);
  CHECK(f.st->worker_count() == 2);
  // The same exit reported again changes nothing.
  f.st->on_child_exit(pid, 9);
  CHECK(f.io.deaths.size() == 1);
  CHECK(f.io.starts.size() == 3);
}

TEST_CASE("an actor's worker that exits is told to the control store and to its holder") {
  // The holder may still be waiting for the actor's constructor: the
  // control store does not know that worker before the actor is up.
  fixture f{{{"CPU", 1}}};
  f.st->prestart(exe, 1);
  f.register_all();
  auto a = f.actor();
  lease_request req{f.next_request++, exe, {}, "create actor", a};
  req.dedicated = true;
  f.st->on_lease(req);
  REQUIRE(f.io.grants.size() == 1);
  auto w = f.io.grants[0].grant.worker_id;
  f.st->on_child_exit(f.io.grants[0].grant.pid, 9);
  REQUIRE(f.io.exited.size() == 1);
  CHECK(f.io.exited[0].first == w);
  CHECK(f.io.exited[0].second.find("SIGKILL") != std::string::npos);
  REQUIRE(f.io.deaths.size() == 1);
  CHECK(f.io.deaths[0].holder == a.address());
  CHECK(f.io.deaths[0].worker_id == w);
}

TEST_CASE("an idle worker that exits is replaced without telling anyone") {
  fixture f{{{"CPU", 2}}};
  f.st->prestart(exe, 2);
  f.register_all();
  f.st->on_child_exit(f.io.starts[0].pid, W_EXITCODE(3, 0));
  CHECK(f.io.deaths.empty());
  CHECK(f.io.starts.size() == 3);
  CHECK(f.st->worker_count() == 2);
  f.st->on_child_exit(77777, 9); // not ours
  CHECK(f.io.starts.size() == 3);
}

TEST_CASE("a worker's exit status is described in the holder's message") {
  fixture f{{{"CPU", 1}}};
  f.st->prestart(exe, 1);
  f.register_all();
  auto a = f.actor();
  f.lease(a, one_cpu);
  REQUIRE(f.io.grants.size() == 1);
  f.st->on_child_exit(f.io.grants[0].grant.pid, W_EXITCODE(3, 0));
  REQUIRE(f.io.deaths.size() == 1);
  CHECK(f.io.deaths[0].why.find("exited with status 3") != std::string::npos);
  f.register_all();
  f.lease(a, one_cpu);
  REQUIRE(f.io.grants.size() == 2);
  f.st->on_child_exit(f.io.grants[1].grant.pid, SIGSEGV);
  REQUIRE(f.io.deaths.size() == 2);
  CHECK(f.io.deaths[1].why.find("killed by signal 11 (SIGSEGV)") != std::string::npos);
}

TEST_CASE("a waiting request is granted to the replacement of a dead worker") {
  fixture f{{{"CPU", 1}}};
  f.st->prestart(exe, 1);
  f.register_all();
  auto a = f.actor();
  f.lease(a, one_cpu);
  auto waiting = f.lease(a, one_cpu);
  REQUIRE(f.io.grants.size() == 1);
  f.st->on_child_exit(f.io.grants[0].grant.pid, 9);
  REQUIRE(f.io.starts.size() == 2);
  CHECK(f.io.grants.size() == 1); // the replacement has not registered yet
  f.register_all();
  REQUIRE(f.io.grants.size() == 2);
  CHECK(f.io.grants[1].grant.request_id == waiting);
  CHECK(f.io.grants[1].grant.worker_id == f.io.starts[1].worker_id);
}

TEST_CASE("on_holder_down returns the holder's leases and drops its requests") {
  fixture f{{{"CPU", 2}}};
  f.st->prestart(exe, 3);
  f.register_all();
  auto a = f.actor();
  auto b = f.actor();
  f.lease(a, one_cpu);
  f.lease(a, one_cpu);
  f.lease(a, one_cpu);              // waits
  auto for_b = f.lease(b, one_cpu); // waits behind it
  REQUIRE(f.io.grants.size() == 2);
  CHECK(f.st->pending_requests() == 2);
  f.st->on_holder_down(a.address());
  // a's waiting request is gone: b gets a worker, and one CPU is left.
  REQUIRE(f.io.grants.size() == 3);
  CHECK(f.io.grants[2].to == b.address());
  CHECK(f.io.grants[2].grant.request_id == for_b);
  CHECK(f.st->pending_requests() == 0);
  CHECK(f.available("CPU") == 1);
  // b going down returns b's lease; a stranger going down changes nothing.
  f.st->on_holder_down(f.actor().address());
  CHECK(f.available("CPU") == 1);
  f.st->on_holder_down(b.address());
  CHECK(f.available("CPU") == 2);
  CHECK(f.io.kills.empty()); // the workers live on for the next holder
}

TEST_CASE("cancel removes a pending request, and only for its requester") {
  fixture f{{{"CPU", 1}}};
  f.st->prestart(exe, 2);
  f.register_all();
  auto a = f.actor();
  auto b = f.actor();
  f.lease(a, one_cpu);
  auto waiting = f.lease(a, one_cpu);
  CHECK(f.st->pending_requests() == 1);
  f.st->on_cancel(waiting, b.address()); // not b's request
  CHECK(f.st->pending_requests() == 1);
  f.st->on_cancel(waiting + 100, a.address()); // no such request
  CHECK(f.st->pending_requests() == 1);
  f.st->on_cancel(waiting, a.address());
  CHECK(f.st->pending_requests() == 0);
  f.st->on_return(f.io.grants[0].grant.worker_id);
  CHECK(f.io.grants.size() == 1); // nothing left to grant
  CHECK(f.available("CPU") == 1);
}

TEST_CASE("a worker whose actors went down is killed and its exit handled as usual") {
  fixture f{{{"CPU", 2}}};
  f.st->prestart(exe, 1);
  auto executor = f.executor();
  f.register_all(executor);
  f.st->prestart(exe, 2);
  f.register_all(); // the second worker's executor is not this one
  f.st->on_worker_down(f.actor().address());
  CHECK(f.io.kills.empty());
  f.st->on_worker_down(executor.address());
  CHECK(f.io.kills == std::vector<int>{f.io.starts[0].pid});
}

TEST_CASE("stop_all kills every worker and drops every request") {
  fixture f{{{"CPU", 1}}};
  f.st->prestart(exe, 2);
  f.register_all();
  auto a = f.actor();
  f.lease(a, one_cpu);
  f.lease(a, {{"CPU", 1}});
  f.lease(a, {{"CPU", 1}});
  f.st->stop_all();
  auto kills = f.io.kills;
  std::sort(kills.begin(), kills.end());
  CHECK(kills == std::vector<int>{f.io.starts[0].pid, f.io.starts[1].pid});
  CHECK(f.st->pending_requests() == 0);
}

TEST_CASE("describe_json shows resources, workers and pending demands") {
  fixture f{{{"CPU", 2}, {"GPU", 1}}};
  f.st->prestart(exe, 3);
  f.register_all();
  f.st->prestart("/another/exe", 1); // one more, starting
  auto a = f.actor();
  f.lease(a, {{"CPU", 1}, {"GPU", 1}});
  f.lease(a, {{"CPU", 1}});
  f.lease(a, {{"CPU", 0.5}, {"GPU", 0.5}}); // waits: no GPU left
  f.st->on_blocked(f.io.grants[1].grant.worker_id);
  auto json = f.st->describe_json();
  INFO(json);
  auto doc = troupe::from_json_text<troupe::local_scheduler_status>(json);
  CHECK(doc.total == troupe::resource_map{{"CPU", 2}, {"GPU", 1}});
  CHECK(doc.available == troupe::resource_map{{"CPU", 1}, {"GPU", 0}});
  CHECK(doc.workers == troupe::worker_counts{1, 2, 1, 1});
  CHECK(doc.pending_demands == std::vector<troupe::resource_map>{{{"CPU", 0.5}, {"GPU", 0.5}}});
}

TEST_CASE("idle workers of another executable do not starve a new job at max_workers") {
  // dispatch() starts a worker for a request only while workers_.size() <
  // max_workers_, and nothing ever stops idle workers of another executable
  // (pool targets never shrink), so the request below waits forever: no
  // grant, no denial, no worker started, none stopped.
  fixture f{{{"CPU", 2}}, 2};
  f.st->prestart("/old/job", 2);
  f.register_all();
  auto a = f.actor();
  f.lease(a, one_cpu, "new_job_task", "/new/job");
  bool progress = !f.io.kills.empty() ||
                  std::any_of(f.io.starts.begin(), f.io.starts.end(),
                              [](auto& s) { return s.exe == "/new/job"; }) ||
                  !f.io.denials.empty();
  CHECK(progress);
}

TEST_CASE("actors' workers do not count against max_workers: more actors than the cap start") {
  fixture f{{{"CPU", 2}}, 2};
  f.st->prestart(exe, 2);
  f.register_all();
  auto a = f.actor();
  for (int i = 0; i < 5; ++i) {
    auto id = f.next_request++;
    lease_request req{id, exe, {}, "create actor", a};
    req.dedicated = true;
    f.st->on_lease(req);
    f.register_all(); // workers started for it come up
  }
  CHECK(f.io.grants.size() == 5);
  CHECK(f.st->pending_requests() == 0);
  CHECK(f.st->task_workers() == 2); // the task pool is refilled to its size
  CHECK(f.st->worker_count() == 7);
}

// -- spilling to the cluster scheduler, and placement-group bundles ----------

namespace {

using troupe::bundle_reservation;
using troupe::scheduling_strategy;

/// Returns a request with the next id of `f`, default strategy, not placed.
lease_request make_request(fixture& f, const core_actor& requester, resource_map resources,
                           const std::string& task = "task") {
  return lease_request{f.next_request++, exe, std::move(resources), task, requester};
}

lease_request with_strategy(lease_request req, scheduling_strategy::kind k) {
  req.strategy.type = k;
  return req;
}

/// Returns a request in bundle `bundle` of `group`, as the cluster scheduler
/// sends it back to the bundle's node.
lease_request group_request(fixture& f, const core_actor& requester, resource_map resources,
                            std::uint64_t group, std::int32_t bundle,
                            const std::string& task = "task") {
  auto req = with_strategy(make_request(f, requester, std::move(resources), task),
                           scheduling_strategy::kind::placement_group);
  req.strategy.group = group;
  req.strategy.bundle = bundle;
  req.placed = true;
  return req;
}

double cpus_of(const resource_map& rs) {
  auto it = rs.find("CPU");
  return it == rs.end() ? 0 : it->second;
}

} // namespace

TEST_CASE("with other nodes, a request the node has no room for now is spilled, not queued") {
  fixture f{{{"CPU", 1}}};
  f.st->set_node(1);
  f.st->set_cluster_size(3);
  f.st->prestart(exe, 2);
  f.register_all();
  auto a = f.actor();
  f.lease(a, one_cpu); // fits: served here
  REQUIRE(f.io.grants.size() == 1);
  CHECK(f.io.spills.empty());
  auto busy = f.lease(a, one_cpu);
  REQUIRE(f.io.spills.size() == 1);
  CHECK(f.io.spills[0].request_id == busy);
  CHECK(f.io.spills[0].requester == a);
  CHECK_FALSE(f.io.spills[0].placed);
  CHECK(f.st->pending_requests() == 0);
  CHECK(f.io.grants.size() == 1);
  // More than the node has in total is another node's business, not a denial.
  auto too_big = f.lease(a, {{"CPU", 4}});
  REQUIRE(f.io.spills.size() == 2);
  CHECK(f.io.spills[1].request_id == too_big);
  CHECK(f.io.denials.empty());
  // A request whose arguments live on another node goes there, room or not.
  f.st->on_return(f.io.grants[0].grant.worker_id);
  auto far = make_request(f, a, one_cpu);
  far.locality_node = 2;
  f.st->on_lease(far);
  REQUIRE(f.io.spills.size() == 3);
  CHECK(f.io.spills[2].request_id == far.request_id);
  auto near = make_request(f, a, one_cpu);
  near.locality_node = 1;
  f.st->on_lease(near);
  CHECK(f.io.spills.size() == 3);
  CHECK(f.io.grants.size() == 2);
  // Alone in the cluster again, a busy request waits here.
  f.st->set_cluster_size(1);
  f.lease(a, one_cpu);
  CHECK(f.io.spills.size() == 3);
  CHECK(f.st->pending_requests() == 1);
}

TEST_CASE("a request with a strategy is always spilled, even on a one-node cluster") {
  fixture f{{{"CPU", 4}}};
  f.st->prestart(exe, 1);
  f.register_all();
  auto a = f.actor();
  using kind = scheduling_strategy::kind;
  auto spread = with_strategy(make_request(f, a, one_cpu), kind::spread);
  auto pinned = with_strategy(make_request(f, a, one_cpu), kind::node_affinity);
  pinned.strategy.node = 0;
  auto in_group = with_strategy(make_request(f, a, one_cpu), kind::placement_group);
  in_group.strategy.group = 3;
  for (auto& req : {spread, pinned, in_group})
    f.st->on_lease(req);
  REQUIRE(f.io.spills.size() == 3);
  CHECK(f.io.spills[0].request_id == spread.request_id);
  CHECK(f.io.spills[1].request_id == pinned.request_id);
  CHECK(f.io.spills[2].request_id == in_group.request_id);
  CHECK(f.io.spills[2].strategy.group == 3);
  CHECK(f.io.grants.empty());
  CHECK(f.io.denials.empty());
  CHECK(f.st->pending_requests() == 0);
  CHECK(f.available("CPU") == 4);
}

TEST_CASE("a request placed by the cluster scheduler queues here and is never spilled") {
  fixture f{{{"CPU", 1}}};
  f.st->set_node(2);
  f.st->set_cluster_size(3);
  f.st->prestart(exe, 3);
  f.register_all();
  auto a = f.actor();
  f.lease(a, one_cpu);
  REQUIRE(f.io.grants.size() == 1);
  auto placed = make_request(f, a, one_cpu);
  placed.placed = true;
  f.st->on_lease(placed);
  auto spread = with_strategy(make_request(f, a, one_cpu), scheduling_strategy::kind::spread);
  spread.placed = true;
  f.st->on_lease(spread);
  CHECK(f.io.spills.empty());
  CHECK(f.st->pending_requests() == 2);
  f.st->on_return(f.io.grants[0].grant.worker_id);
  REQUIRE(f.io.grants.size() == 2);
  CHECK(f.io.grants[1].grant.request_id == placed.request_id);
  CHECK(f.io.grants[1].grant.node_id == 2);
  f.st->on_return(f.io.grants[1].grant.worker_id);
  REQUIRE(f.io.grants.size() == 3);
  CHECK(f.io.grants[2].grant.request_id == spread.request_id);
}

TEST_CASE("a placed request that can never fit the node is denied naming the node") {
  fixture f{{{"CPU", 2}}};
  f.st->set_node(2);
  f.st->set_cluster_size(3);
  auto a = f.actor();
  auto req = make_request(f, a, {{"CPU", 4}}, "huge_task");
  req.placed = true;
  f.st->on_lease(req);
  CHECK(f.io.spills.empty());
  REQUIRE(f.io.denials.size() == 1);
  auto& d = f.io.denials[0];
  INFO(d.why);
  CHECK(d.to == a.address());
  CHECK(d.request_id == req.request_id);
  CHECK(d.why.find("huge_task") != std::string::npos);
  CHECK(d.why.find("CPU: 4") != std::string::npos);
  CHECK(d.why.find("node 2") != std::string::npos);
  CHECK(d.why.find("CPU: 2") != std::string::npos);
  CHECK(f.st->pending_requests() == 0);
  CHECK(f.io.starts.empty());
}

TEST_CASE("set_node makes worker ids start at node << 32, unique in the cluster") {
  fixture f{{{"CPU", 2}}};
  f.st->set_node(5);
  f.st->prestart(exe, 2);
  REQUIRE(f.io.starts.size() == 2);
  CHECK(f.io.starts[0].worker_id == (std::uint64_t{5} << 32) + 1);
  CHECK(f.io.starts[1].worker_id == (std::uint64_t{5} << 32) + 2);
  f.register_all();
  auto a = f.actor();
  f.lease(a, one_cpu);
  REQUIRE(f.io.grants.size() == 1);
  CHECK(f.io.grants[0].grant.node_id == 5);
  CHECK((f.io.grants[0].grant.worker_id >> 32) == 5);
  CHECK(f.st->report().node_id == 5);
}

TEST_CASE("a reserved bundle's resources leave the node's pool and serve only its group") {
  fixture f{{{"CPU", 4}}};
  f.st->set_node(1);
  f.st->prestart(exe, 4);
  f.register_all();
  f.st->reserve(bundle_reservation{7, 0, {{"CPU", 2}}});
  CHECK(f.available("CPU") == 2);
  CHECK(cpus_of(f.st->report().available) == 2);
  auto a = f.actor();
  auto first = group_request(f, a, {{"CPU", 2}}, 7, 0);
  f.st->on_lease(first);
  REQUIRE(f.io.grants.size() == 1);
  CHECK(f.io.grants[0].grant.request_id == first.request_id);
  CHECK(f.available("CPU") == 2); // taken from the bundle, not the node
  // The bundle is used up: the next request of the group waits, though the
  // node has CPUs free.
  auto second = group_request(f, a, one_cpu, 7, -1);
  f.st->on_lease(second);
  CHECK(f.io.grants.size() == 1);
  CHECK(f.st->pending_requests() == 1);
  // Requests outside the group take from the node's pool meanwhile.
  f.lease(a, one_cpu);
  REQUIRE(f.io.grants.size() == 2);
  CHECK(f.available("CPU") == 1);
  // Returning the group's worker refills the bundle, so the second is served.
  f.st->on_return(f.io.grants[0].grant.worker_id);
  REQUIRE(f.io.grants.size() == 3);
  CHECK(f.io.grants[2].grant.request_id == second.request_id);
  CHECK(f.available("CPU") == 1);
  CHECK(f.st->pending_requests() == 0);
  CHECK(f.io.spills.empty());
  CHECK(f.io.denials.empty());
}

TEST_CASE("a bundle reserved again (a restarted head's) is kept as it is, in use or not") {
  fixture f{{{"CPU", 4}}};
  f.st->set_node(1);
  f.st->prestart(exe, 4);
  f.register_all();
  f.st->reserve(bundle_reservation{7, 0, {{"CPU", 2}}});
  auto a = f.actor();
  f.st->on_lease(group_request(f, a, {{"CPU", 2}}, 7, 0));
  REQUIRE(f.io.grants.size() == 1);
  f.st->reserve(bundle_reservation{7, 0, {{"CPU", 2}}});
  CHECK(f.available("CPU") == 2); // not taken from the node twice
  // The bundle is still used up by its worker: nothing refilled it.
  f.st->on_lease(group_request(f, a, one_cpu, 7, 0));
  CHECK(f.io.grants.size() == 1);
  CHECK(f.st->pending_requests() == 1);
}

TEST_CASE("a worker leased from a bundle that blocks gives its resources back to the bundle") {
  fixture f{{{"CPU", 2}}};
  f.st->prestart(exe, 3);
  f.register_all();
  f.st->reserve(bundle_reservation{7, 0, one_cpu});
  auto a = f.actor();
  f.st->on_lease(group_request(f, a, one_cpu, 7, 0));
  auto waiting = group_request(f, a, one_cpu, 7, 0);
  f.st->on_lease(waiting);
  REQUIRE(f.io.grants.size() == 1);
  f.st->on_blocked(f.io.grants[0].grant.worker_id);
  REQUIRE(f.io.grants.size() == 2);
  CHECK(f.io.grants[1].grant.request_id == waiting.request_id);
  CHECK(f.available("CPU") == 1); // the node's pool never changed
}

TEST_CASE("a placed request in a group with no bundle here that holds it is denied") {
  fixture f{{{"CPU", 4}}};
  f.st->set_node(3);
  f.st->set_cluster_size(2);
  f.st->reserve(bundle_reservation{7, 0, one_cpu});
  auto a = f.actor();
  f.st->on_lease(group_request(f, a, one_cpu, 9, 0, "stray"));
  f.st->on_lease(group_request(f, a, one_cpu, 7, 1));
  f.st->on_lease(group_request(f, a, {{"CPU", 2}}, 7, 0));
  f.st->on_lease(group_request(f, a, {{"CPU", 2}}, 7, -1));
  REQUIRE(f.io.denials.size() == 4);
  INFO(f.io.denials[0].why);
  CHECK(f.io.denials[0].why.find("stray") != std::string::npos);
  CHECK(f.io.denials[0].why.find("placement group 9") != std::string::npos);
  CHECK(f.io.denials[0].why.find("node 3") != std::string::npos);
  CHECK(f.io.denials[2].why.find("CPU: 2") != std::string::npos);
  CHECK(f.st->pending_requests() == 0);
  CHECK(f.io.spills.empty());
  CHECK(f.available("CPU") == 3);
}

TEST_CASE("release_group gives the bundles back to the node and denies the group's waiting requests") {
  fixture f{{{"CPU", 4}}};
  f.st->prestart(exe, 4);
  f.register_all();
  f.st->reserve(bundle_reservation{7, 0, {{"CPU", 2}}});
  f.st->reserve(bundle_reservation{7, 1, one_cpu});
  f.st->reserve(bundle_reservation{8, 0, one_cpu});
  CHECK(f.available("CPU") == 0);
  auto a = f.actor();
  auto b = f.actor();
  f.st->on_lease(group_request(f, a, {{"CPU", 2}}, 7, 0));
  REQUIRE(f.io.grants.size() == 1);
  auto in_seven = f.io.grants[0].grant.worker_id;
  auto waits = group_request(f, b, {{"CPU", 2}}, 7, -1);
  f.st->on_lease(waits);
  f.st->on_lease(group_request(f, a, one_cpu, 8, 0));
  REQUIRE(f.io.grants.size() == 2); // group 8's bundle serves it
  auto outside = f.lease(a, {{"CPU", 2}}); // waits for the node's pool
  CHECK(f.st->pending_requests() == 2);

  f.st->release_group(7);
  REQUIRE(f.io.denials.size() == 1);
  CHECK(f.io.denials[0].to == b.address());
  CHECK(f.io.denials[0].request_id == waits.request_id);
  CHECK(f.io.denials[0].why.find("placement group 7 was removed") != std::string::npos);
  // Bundle 1 was unused: its CPU is the node's again at once (not yet
  // enough for the request outside any group).
  REQUIRE(f.io.grants.size() == 2);
  CHECK(f.available("CPU") == 1);
  // The worker leased in bundle 0 gives its CPUs to the node on return.
  f.st->on_return(in_seven);
  REQUIRE(f.io.grants.size() == 3);
  CHECK(f.io.grants[2].grant.request_id == outside);
  CHECK(f.available("CPU") == 1);
  CHECK(f.st->pending_requests() == 0);
  // Group 8 is untouched; a new request in group 7 is denied.
  f.st->on_lease(group_request(f, a, one_cpu, 7, 0));
  CHECK(f.io.denials.size() == 2);
}

TEST_CASE("report() tells the node, its total, what is available and how many wait") {
  fixture f{{{"CPU", 2}, {"GPU", 1}}};
  f.st->set_node(4);
  f.st->prestart(exe, 2);
  f.register_all();
  auto a = f.actor();
  auto r = f.st->report();
  CHECK(r.node_id == 4);
  CHECK(r.total == resource_map{{"CPU", 2}, {"GPU", 1}});
  CHECK(r.available == r.total);
  CHECK(r.queued == 0);
  f.lease(a, {{"CPU", 1}, {"GPU", 1}});
  f.lease(a, {{"GPU", 1}});
  f.lease(a, {{"GPU", 0.5}});
  f.st->reserve(bundle_reservation{1, 0, {{"CPU", 0.5}}});
  r = f.st->report();
  CHECK(r.node_id == 4);
  CHECK(r.total == resource_map{{"CPU", 2}, {"GPU", 1}});
  CHECK(cpus_of(r.available) == doctest::Approx(0.5));
  CHECK(r.available.at("GPU") == 0);
  CHECK(r.queued == 2);
  f.st->on_return(f.io.grants[0].grant.worker_id);
  r = f.st->report();
  CHECK(r.queued == 1); // one GPU: the first waiting request got it
  CHECK(cpus_of(r.available) == doctest::Approx(1.5));
}

namespace {

/// Asks for `count` light-actor slots of `each`; returns the request id.
std::uint64_t host_lease(fixture& f, const core_actor& requester, resource_map each,
                         std::uint32_t count) {
  lease_request req{f.next_request++, exe, std::move(each), "create cell", requester, true};
  req.host = true;
  req.count = count;
  f.st->on_lease(req);
  return req.request_id;
}

} // namespace

TEST_CASE("light actors go to a job's hosts, one per CPU, spread, their CPUs held") {
  fixture f{{{"CPU", 2}}};
  auto a = f.actor();
  host_lease(f, a, {{"CPU", 0.25}}, 1);
  REQUIRE(f.io.starts.size() == 2); // the job's hosts: one per CPU
  CHECK(f.io.grants.empty());       // granted once a host is up
  f.register_all(f.executor());
  REQUIRE(f.io.grants.size() == 1);
  auto first_host = f.io.grants[0].grant.worker_id;
  CHECK(f.io.grants[0].grant.slots == 1);
  CHECK(f.available("CPU") == doctest::Approx(1.75));
  // A burst: half of it now, on the other (emptier) host; the rest when asked again.
  host_lease(f, a, {{"CPU", 0.25}}, 6);
  REQUIRE(f.io.grants.size() == 2);
  CHECK(f.io.grants[1].grant.worker_id != first_host);
  CHECK(f.io.grants[1].grant.slots == 3);
  host_lease(f, a, {{"CPU", 0.25}}, 3);
  REQUIRE(f.io.grants.size() == 3);
  CHECK(f.io.grants[2].grant.worker_id == first_host);
  CHECK(f.io.grants[2].grant.slots == 2);
  // 6 slots hold 1.5 CPUs; only 2 more of 0.25 fit.
  host_lease(f, a, {{"CPU", 0.25}}, 4);
  REQUIRE(f.io.grants.size() == 4);
  CHECK(f.io.grants[3].grant.slots == 2);
  CHECK(f.available("CPU") == doctest::Approx(0));
  host_lease(f, a, {{"CPU", 0.25}}, 1);
  CHECK(f.io.grants.size() == 4); // waits for a slot
  CHECK(f.st->pending_requests() == 1);
  f.st->on_slots_released(first_host, {{"CPU", 0.25}}, 1); // an actor ended
  REQUIRE(f.io.grants.size() == 5);
  CHECK(f.io.grants[4].grant.slots == 1);
  CHECK(f.st->task_workers() == 0); // hosts do not count as the job's task pool
}

TEST_CASE("a host that dies gives its slots back and tells the control store and creators") {
  fixture f{{{"CPU", 2}}};
  f.st->set_actor_hosts(1, 0);
  auto a = f.actor();
  auto b = f.actor();
  host_lease(f, a, {{"CPU", 0.5}}, 2);
  REQUIRE(f.io.starts.size() == 1);
  f.register_all(f.executor());
  host_lease(f, b, {{"CPU", 0.5}}, 1);
  REQUIRE(f.io.grants.size() == 2);
  CHECK(f.available("CPU") == doctest::Approx(0.5));
  auto host = f.io.starts[0];
  f.st->on_child_exit(host.pid, SIGKILL); // a raw wait status: killed by signal 9
  CHECK(f.available("CPU") == doctest::Approx(2));
  REQUIRE(f.io.exited.size() == 1);
  CHECK(f.io.exited[0].first == host.worker_id);
  REQUIRE(f.io.deaths.size() == 2); // each creator: creations in flight there fail
  CHECK(f.io.deaths[0].holder == a.address());
  CHECK(f.io.deaths[1].holder == b.address());
  // More light actors start a new host.
  host_lease(f, a, {{"CPU", 0.5}}, 1);
  CHECK(f.io.starts.size() == 2);
}

TEST_CASE("most actors per host is a limit; a full host waits for room") {
  fixture f{{{"CPU", 2}}};
  f.st->set_actor_hosts(1, 3);
  auto a = f.actor();
  host_lease(f, a, {}, 5);
  f.register_all(f.executor());
  REQUIRE(f.io.grants.size() == 1);
  CHECK(f.io.grants[0].grant.slots == 3);
  host_lease(f, a, {}, 2);
  CHECK(f.io.grants.size() == 1);
  f.st->on_slots_released(f.io.grants[0].grant.worker_id, {}, 2);
  REQUIRE(f.io.grants.size() == 2);
  CHECK(f.io.grants[1].grant.slots == 2);
}
