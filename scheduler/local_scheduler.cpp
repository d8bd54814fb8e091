#include "scheduler/local_scheduler.hpp"

#include <signal.h>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/control_store.hpp"
#include "lib/src/core_actor.hpp"
#include "lib/src/process.hpp"
#include "scheduler/cluster_scheduler.hpp"
#include "scheduler/scheduler_state.hpp"

namespace troupe::sched {

namespace {


struct actor_state {
  scheduler_config cfg;
  std::string host;
  std::uint16_t port = 0;
  std::uint64_t node_id = 0;
  caf::actor control;
  caf::actor cluster;
  /// Requests placed on other nodes, for their cancels.
  std::map<std::pair<std::uint64_t, caf::actor_addr>, caf::actor> forwarded;
  resource_report last_report;
  bool report_due = false;
  std::unique_ptr<scheduler_io> io;
  std::unique_ptr<scheduler_state> st;
  static inline const char* name = "troupe.local_scheduler";
};

using self_ptr = local_scheduler_actor::stateful_pointer<actor_state>;

class actor_io final : public scheduler_io {
public:
  explicit actor_io(self_ptr self) : self_(self) {}

  int start_worker(const std::string& exe, std::uint64_t worker_id) override;
  void grant(const caf::actor& requester, const lease_grant& g) override {
    self_->monitor(requester);
    auto out = g;
    out.scheduler = caf::actor_cast<caf::actor>(self_);
    self_->send(caf::actor_cast<detail::core_actor>(requester), granted_atom::value, out);
  }
  void spill(const lease_request& req) override;
  void deny(const caf::actor& requester, std::uint64_t request_id,
            const std::string& why) override {
    self_->send(caf::actor_cast<detail::core_actor>(requester), denied_atom::value,
                request_id, why);
  }
  void worker_died(const caf::actor& holder, std::uint64_t worker_id,
                   const std::string& why) override {
    self_->send(caf::actor_cast<detail::core_actor>(holder), worker_died_atom::value,
                worker_id, why);
  }
  void kill_worker(int pid) override {
    ::kill(pid, SIGKILL);
  }
  void dedicated_worker_exited(std::uint64_t worker_id, const std::string& why) override {
    if (auto& cs = self_->state.control)
      self_->send(caf::actor_cast<control_store_actor>(cs), worker_exit_atom::value,
                  worker_id, why);
  }

private:
  self_ptr self_;
};

int actor_io::start_worker(const std::string& exe, std::uint64_t worker_id) {
  auto& s = self_->state;
  auto pid = detail::spawn_process(
    exe, {"--troupe-worker"},
    {"TROUPE_ROLE=worker", "TROUPE_NODE=" + s.host + ":" + std::to_string(s.port),
     "TROUPE_WORKER_ID=" + std::to_string(worker_id)});
  spdlog::info("started worker {} (pid {}) running {}", worker_id, pid, exe);
  return pid;
}

void actor_io::spill(const lease_request& req) {
  auto self = self_;
  auto& s = self->state;
  auto cluster = caf::actor_cast<cluster_scheduler_actor>(s.cluster);
  if (!cluster) { // not part of a cluster (yet): serve it here
    auto here = req;
    here.placed = true;
    s.st->on_lease(here);
    return;
  }
  self->request(cluster, std::chrono::seconds(10), place_atom::value, req, s.node_id)
    .then(
      [self, req](const placement& p) {
        auto& s = self->state;
        if (p.node_id == 0 && p.why.empty()) {
          // Its placement group is not placed yet: ask again in a while.
          self->delayed_send(self, std::chrono::milliseconds(100), lease_atom::value, req);
          return;
        }
        if (p.node_id == 0) {
          s.io->deny(req.requester, req.request_id, p.why);
          return;
        }
        auto placed = req;
        placed.placed = true;
        if (p.node_id == s.node_id) {
          s.st->on_lease(placed);
          return;
        }
        s.forwarded[{req.request_id, req.requester.address()}] = p.scheduler;
        self->send(caf::actor_cast<local_scheduler_actor>(p.scheduler), lease_atom::value,
                   placed);
      },
      [self, req](caf::error& e) {
        self->state.io->deny(req.requester, req.request_id,
                             "the cluster scheduler did not place task '" + req.task_name
                               + "': " + self->system().render(e));
      });
}

/// Tells the cluster scheduler this node's resources when they changed,
/// at most every 10 ms.
void report_soon(self_ptr self) {
  auto& s = self->state;
  if (s.report_due || !s.cluster)
    return;
  auto r = s.st->report();
  if (r.available == s.last_report.available && r.queued == s.last_report.queued
      && r.total == s.last_report.total)
    return;
  s.report_due = true;
  self->delayed_send(self, std::chrono::milliseconds(10), report_atom::value);
}

local_scheduler_actor::behavior_type scheduler_fn(self_ptr self,
                                                  scheduler_config cfg) {
  auto& s = self->state;
  s.cfg = std::move(cfg);
  s.io = std::make_unique<actor_io>(self);
  s.st = std::make_unique<scheduler_state>(*s.io, s.cfg.resources, s.cfg.max_workers);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    s.st->on_worker_down(dm.source);
    s.st->on_holder_down(dm.source);
    for (auto it = s.forwarded.begin(); it != s.forwarded.end();)
      it = it->first.second == dm.source ? s.forwarded.erase(it) : std::next(it);
    report_soon(self);
  });
  return {
    [self](node_atom, const std::string& host, std::uint16_t port,
           const caf::actor& control, std::uint64_t node_id, const caf::actor& cluster) {
      auto& s = self->state;
      s.host = host;
      s.port = port;
      s.control = control;
      s.node_id = node_id;
      s.cluster = cluster;
      s.st->set_node(node_id);
      if (!s.cfg.prestart_exe.empty())
        s.st->prestart(s.cfg.prestart_exe, s.cfg.pool_size);
      report_soon(self);
    },
    [self](nodes_atom, std::uint32_t alive) {
      self->state.st->set_cluster_size(alive);
    },
    [self](reserve_atom, const bundle_reservation& b) {
      self->state.st->reserve(b);
      report_soon(self);
    },
    [self](release_atom, std::uint64_t group) {
      self->state.st->release_group(group);
      report_soon(self);
    },
    [self](report_atom) {
      auto& s = self->state;
      s.report_due = false;
      s.last_report = s.st->report();
      self->send(caf::actor_cast<cluster_scheduler_actor>(s.cluster), report_atom::value,
                 s.last_report);
    },
    [self](hello_atom, const std::string& exe) {
      auto& s = self->state;
      s.st->job_started(exe);
      s.st->prestart(exe, s.cfg.pool_size);
    },
    [self](job_end_atom, const std::string& exe) {
      self->state.st->job_ended(exe);
    },
    [self](kill_atom, std::uint64_t worker_id) {
      self->state.st->kill(worker_id);
    },
    [self](register_atom, const worker_hello& hello) {
      self->monitor(hello.executor);
      self->state.st->on_register(hello);
    },
    [self](lease_atom, const lease_request& req) {
      self->state.st->on_lease(req);
      report_soon(self);
    },
    [self](cancel_atom, std::uint64_t request_id, const caf::actor& requester) {
      auto& s = self->state;
      auto it = s.forwarded.find({request_id, requester.address()});
      if (it != s.forwarded.end()) {
        self->send(caf::actor_cast<local_scheduler_actor>(it->second), cancel_atom::value,
                   request_id, requester);
        s.forwarded.erase(it);
        return;
      }
      s.st->on_cancel(request_id, requester.address());
      report_soon(self);
    },
    [self](return_atom, std::uint64_t worker_id) {
      self->state.st->on_return(worker_id);
      report_soon(self);
    },
    [self](blocked_atom, std::uint64_t worker_id) {
      self->state.st->on_blocked(worker_id);
      report_soon(self);
    },
    [self](unblocked_atom, std::uint64_t worker_id) {
      self->state.st->on_unblocked(worker_id);
      report_soon(self);
    },
    [self](child_atom, std::int32_t pid, std::int32_t status) {
      spdlog::info("worker process {} {}", pid, detail::describe_exit(status));
      self->state.st->on_child_exit(pid, status);
      report_soon(self);
    },
    [self](status_atom) -> std::string {
      return self->state.st->describe_json();
    },
    [self](stop_atom) -> bool {
      self->state.st->stop_all();
      self->quit();
      return true;
    },
  };
}

} // namespace

local_scheduler_actor spawn_local_scheduler(caf::actor_system& sys,
                                            scheduler_config cfg) {
  return sys.spawn(scheduler_fn, std::move(cfg));
}

} // namespace troupe::sched
