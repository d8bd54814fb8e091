#include "scheduler/local_scheduler.hpp"
#include "lib/protocol/messages.hpp"

#include <algorithm>
#include <filesystem>
#include <signal.h>
#include <tuple>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "lib/common/exe_files.hpp"
#include "lib/common/process.hpp"
#include "scheduler/exe_fetcher.hpp"
#include "scheduler/scheduler_state.hpp"

namespace troupe::sched {

namespace {


struct actor_state {
  scheduler_config cfg;
  std::string host;
  std::uint16_t port = 0;
  std::uint64_t node_id = 0;
  control_store_actor control;
  cluster_scheduler_actor cluster;
  /// Requests placed on other nodes, for their cancels (a grant from there
  /// goes straight to the requester, so entries are dropped after a minute).
  struct forward {
    local_scheduler_actor scheduler;
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::pair<std::uint64_t, caf::actor_addr>, forward> forwarded;
  /// Placements that failed (the head restarting?), by request: tries so far.
  std::map<std::pair<std::uint64_t, caf::actor_addr>, int> spill_retries;
  resource_report last_report;
  bool report_due = false;
  /// Jobs announced before the node message: workers can connect only once
  /// the node listens, so their pools start then.
  std::vector<std::tuple<std::string, std::string, core_actor>> early_jobs;
  /// Executables by the path their jobs know -> the file workers run (a
  /// fetched copy in the cache when the node's own differs or is missing).
  std::map<std::string, std::string> runnable;
  /// Each job executable's hash and a driver that serves it.
  std::map<std::string, std::pair<std::string, core_actor>> sources;
  std::unique_ptr<scheduler_io> io;
  std::unique_ptr<scheduler_state> st;
  static inline const char* name = "troupe.local_scheduler";
};

using self_ptr = local_scheduler_actor::stateful_pointer<actor_state>;

class actor_io final : public scheduler_io {
public:
  explicit actor_io(self_ptr self) : self_(self) {}

  int start_worker(const std::string& exe, std::uint64_t worker_id) override;
  void grant(const core_actor& requester, const lease_grant& g) override {
    self_->monitor(requester);
    auto out = g;
    out.scheduler = local_scheduler_actor{self_};
    self_->send(requester, granted_atom::value, out);
  }
  void spill(const lease_request& req) override;
  void deny(const core_actor& requester, std::uint64_t request_id,
            const std::string& why) override {
    self_->send(requester, denied_atom::value,
                request_id, why);
  }
  void worker_died(const core_actor& holder, std::uint64_t worker_id,
                   const std::string& why) override {
    self_->send(holder, worker_died_atom::value,
                worker_id, why);
  }
  void kill_worker(int pid) override {
    ::kill(pid, SIGKILL);
  }
  void dedicated_worker_exited(std::uint64_t worker_id, const process_exit& how) override {
    if (auto& cs = self_->state.control)
      self_->send(cs, worker_exit_atom::value, worker_id, how);
  }

private:
  self_ptr self_;
};

void resolve_exe(self_ptr self, const std::string& exe, const std::string& hash,
                 const core_actor& driver);

int actor_io::start_worker(const std::string& exe, std::uint64_t worker_id) {
  auto& s = self_->state;
  auto it = s.runnable.find(exe);
  std::string file = it == s.runnable.end() ? exe : it->second;
  if (!std::filesystem::exists(file)) {
    // Gone since it was checked (a driver may remove its own file): fetch
    // it, or fail what waits for it. Either is told by a message to
    // ourselves: the scheduler's state is in the middle of starting workers.
    s.runnable.erase(exe);
    auto src = s.sources.find(exe);
    if (src != s.sources.end() && !src->second.first.empty()) {
      resolve_exe(self_, exe, src->second.first, src->second.second);
      if (auto found = s.runnable.find(exe); found != s.runnable.end())
        self_->send(self_, exe_atom::value, exe, found->second, std::string{}); // cached
    } else {
      s.st->exe_pending(exe);
      self_->send(self_, exe_atom::value, exe, std::string{},
                  "cannot start workers: the executable " + exe + " does not exist on node "
                    + std::to_string(s.node_id));
    }
    return -1;
  }
  try {
    auto pid = detail::spawn_process(
      file, {"--troupe-worker"},
      {"TROUPE_ROLE=worker", "TROUPE_NODE=" + s.host + ":" + std::to_string(s.port),
       "TROUPE_WORKER_ID=" + std::to_string(worker_id), "TROUPE_JOB_EXE=" + exe});
    spdlog::info("started worker {} (pid {}) running {}", worker_id, pid, file);
    return pid;
  } catch (const std::exception& e) {
    s.st->exe_pending(exe);
    self_->send(self_, exe_atom::value, exe, std::string{},
                std::string{"cannot start a worker: "} + e.what());
    return -1;
  }
}

/// Makes sure workers of `exe` can start here: the node's own file when its
/// hash matches, else a cached or fetched copy.
void resolve_exe(self_ptr self, const std::string& exe, const std::string& hash,
                 const core_actor& driver) {
  auto& s = self->state;
  if (!hash.empty())
    s.sources[exe] = {hash, driver};
  if (hash.empty() || s.runnable.count(exe))
    return;
  if (detail::file_has_hash(exe, hash)) {
    s.runnable[exe] = exe;
    return;
  }
  auto cached = detail::exe_cache_dir() / hash;
  if (detail::file_has_hash(cached.string(), hash)) {
    s.runnable[exe] = cached.string();
    return;
  }
  if (s.st->is_exe_pending(exe))
    return; // a fetch is under way
  spdlog::info("fetching the executable {} ({}) from its driver into {}", exe, hash,
               cached.string());
  s.st->exe_pending(exe);
  spawn_exe_fetcher(self->system(), exe, hash, cached, driver, local_scheduler_actor{self},
                    "the executable " + exe + " from its driver");
}

void actor_io::spill(const lease_request& req) {
  auto self = self_;
  auto& s = self->state;
  auto& cluster = s.cluster;
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
        if (!s.spill_retries.empty())
          s.spill_retries.erase({req.request_id, req.requester.address()});
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
        auto now = std::chrono::steady_clock::now();
        if (s.forwarded.size() > 1024)
          for (auto it = s.forwarded.begin(); it != s.forwarded.end();)
            it = now - it->second.at > std::chrono::minutes(1) ? s.forwarded.erase(it)
                                                               : std::next(it);
        s.forwarded[{req.request_id, req.requester.address()}] = {p.scheduler, now};
        self->send(p.scheduler, lease_atom::value, placed);
      },
      [self, req](caf::error& e) {
        // The head may be restarting (its nodes wait for it for a minute):
        // asked again every second for as long, then refused.
        auto& s = self->state;
        auto& tries = s.spill_retries[{req.request_id, req.requester.address()}];
        if (++tries <= 60) {
          self->delayed_send(self, std::chrono::seconds(1), lease_atom::value, req);
          return;
        }
        s.spill_retries.erase({req.request_id, req.requester.address()});
        s.io->deny(req.requester, req.request_id,
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

/// A worker or a lease holder is gone: what it held comes back, and the
/// requests it had placed on other nodes are forgotten.
void down(self_ptr self, const caf::down_msg& dm) {
  auto& s = self->state;
  s.st->on_worker_down(dm.source);
  s.st->on_holder_down(dm.source);
  for (auto it = s.forwarded.begin(); it != s.forwarded.end();)
    it = it->first.second == dm.source ? s.forwarded.erase(it) : std::next(it);
  report_soon(self);
}

/// Workers of a job's executable can start here from now on.
void start_job(self_ptr self, const std::string& exe, const std::string& hash,
               const core_actor& driver) {
  auto& s = self->state;
  resolve_exe(self, exe, hash, driver);
  s.st->job_started(exe);
  s.st->prestart(exe, s.cfg.pool_size);
}

/// The node listens: workers can connect, so the pools of the jobs announced
/// before start now.
void set_node(self_ptr self, const node_info& node) {
  auto& s = self->state;
  if (s.node_id != 0) {
    // Again: the node rejoined a restarted head, whose cluster scheduler is
    // a new one (the periodic reports run already).
    s.cluster = node.cluster;
    s.control = node.control;
    report_soon(self);
    return;
  }
  s.host = node.host;
  s.port = node.port;
  s.control = node.control;
  s.node_id = node.node_id;
  s.cluster = node.cluster;
  s.st->set_node(node.node_id);
  if (!s.cfg.prestart_exe.empty())
    s.st->prestart(s.cfg.prestart_exe, s.cfg.pool_size);
  if (s.cluster)
    self->send(self, tick_atom::value); // periodic reports from now on
  for (auto& [exe, hash, driver] : s.early_jobs)
    start_job(self, exe, hash, driver);
  s.early_jobs.clear();
  report_soon(self);
}

/// The periodic report, every 250 ms and also when nothing changed
/// (report_soon sends only changes).
void tick(self_ptr self) {
  auto& s = self->state;
  s.last_report = s.st->report();
  self->send(s.cluster, report_atom::value, s.last_report);
  self->delayed_send(self, std::chrono::milliseconds(250), tick_atom::value);
}

/// The report that report_soon scheduled.
void report_now(self_ptr self) {
  auto& s = self->state;
  s.report_due = false;
  s.last_report = s.st->report();
  self->send(s.cluster, report_atom::value, s.last_report);
}

/// A job starts; before the node listens, it waits in early_jobs.
void job_hello(self_ptr self, const std::string& exe, const std::string& hash,
               const core_actor& driver) {
  auto& s = self->state;
  if (s.port == 0) {
    s.early_jobs.emplace_back(exe, hash, driver);
    return;
  }
  start_job(self, exe, hash, driver);
}

void job_end(self_ptr self, const std::string& exe) {
  auto& early = self->state.early_jobs;
  auto it = std::find_if(early.begin(), early.end(),
                         [&](auto& job) { return std::get<0>(job) == exe; });
  if (it != early.end()) {
    early.erase(it);
    return;
  }
  self->state.st->job_ended(exe);
}

/// A fetch of an executable ended: an empty path says why it failed.
void exe_fetched(self_ptr self, const std::string& exe, const std::string& path,
                 const std::string& why) {
  auto& s = self->state;
  if (path.empty()) {
    spdlog::error("{}", why);
    s.st->exe_failed(exe, why);
    return;
  }
  spdlog::info("fetched {} into {}", exe, path);
  s.runnable[exe] = path;
  s.st->exe_ready(exe);
}

/// A request placed on another node is cancelled there.
void cancel(self_ptr self, std::uint64_t request_id, const core_actor& requester) {
  auto& s = self->state;
  auto it = s.forwarded.find({request_id, requester.address()});
  if (it != s.forwarded.end()) {
    self->send(it->second.scheduler, cancel_atom::value, request_id, requester);
    s.forwarded.erase(it);
    return;
  }
  s.st->on_cancel(request_id, requester.address());
  report_soon(self);
}

void child_exit(self_ptr self, std::int32_t pid, std::int32_t status) {
  spdlog::info("worker process {} {}", pid, detail::describe_exit(status));
  self->state.st->on_child_exit(pid, status);
  report_soon(self);
}

local_scheduler_actor::behavior_type scheduler_fn(self_ptr self,
                                                  scheduler_config cfg) {
  auto& s = self->state;
  s.cfg = std::move(cfg);
  s.io = std::make_unique<actor_io>(self);
  s.st = std::make_unique<scheduler_state>(*s.io, s.cfg.resources, s.cfg.max_workers);
  s.st->set_actor_hosts(s.cfg.actor_hosts, s.cfg.max_actors_per_host);
  self->set_down_handler([self](caf::down_msg& dm) { down(self, dm); });
  return {
    [self](node_atom, const node_info& node) { set_node(self, node); },
    [self](nodes_atom, std::uint32_t alive) { self->state.st->set_cluster_size(alive); },
    [self](reserve_atom, const bundle_reservation& b) -> bool {
      self->state.st->reserve(b);
      report_soon(self);
      return true;
    },
    [self](release_atom, std::uint64_t group) {
      self->state.st->release_group(group);
      report_soon(self);
    },
    [self](release_atom, std::uint64_t host, const resource_map& each, std::uint32_t n) {
      self->state.st->on_slots_released(host, each, n);
      report_soon(self);
    },
    [self](tick_atom) { tick(self); },
    [self](report_atom) { report_now(self); },
    [self](hello_atom, const std::string& exe, const std::string& hash,
           const core_actor& driver) { job_hello(self, exe, hash, driver); },
    [self](job_end_atom, const std::string& exe) { job_end(self, exe); },
    [self](exe_atom, const std::string& exe, const std::string& path,
           const std::string& why) { exe_fetched(self, exe, path, why); },
    [self](kill_atom, std::uint64_t worker_id) { self->state.st->kill(worker_id); },
    [self](gone_atom, const core_actor& holder) {
      caf::down_msg dm{holder.address(), caf::exit_reason::remote_link_unreachable};
      down(self, dm);
    },
    [self](register_atom, const worker_hello& hello) {
      // Its exit is noticed by the down handler.
      self->monitor(hello.executor);
      self->state.st->on_register(hello);
    },
    [self](lease_atom, const lease_request& req) {
      self->state.st->on_lease(req);
      report_soon(self);
    },
    [self](cancel_atom, std::uint64_t request_id, const core_actor& requester) {
      cancel(self, request_id, requester);
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
      child_exit(self, pid, status);
    },
    [self](status_atom) -> std::string { return self->state.st->describe_json(); },
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
