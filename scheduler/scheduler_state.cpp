#include "scheduler/scheduler_state.hpp"

#include <algorithm>

#include "lib/common/process.hpp"
#include "lib/protocol/status.hpp"
#include "scheduler/resources.hpp"

namespace troupe::sched {

scheduler_state::scheduler_state(scheduler_io& io, resource_map total,
                                 std::size_t max_workers)
  : io_(io), total_(std::move(total)), available_(total_),
    max_workers_(max_workers) {
}

void scheduler_state::set_node(std::uint64_t node_id) {
  node_id_ = node_id;
  if (workers_.empty())
    next_worker_ = (node_id << 32) + 1;
}

void scheduler_state::reserve(const bundle_reservation& b) {
  // Once only: a restarted head sends again the bundles this node kept.
  if (bundles_.count({b.group, b.index}))
    return;
  auto& slot = bundles_[{b.group, b.index}];
  slot.total = b.resources;
  slot.available = b.resources;
  take(available_, b.resources);
  dispatch();
}

void scheduler_state::release_group(std::uint64_t group) {
  for (auto it = bundles_.begin(); it != bundles_.end();) {
    if (it->first.first != group) {
      ++it;
      continue;
    }
    // What its workers hold goes back to the node when they return it.
    give(available_, it->second.available);
    it = bundles_.erase(it);
  }
  // Requests for the group can never be served now.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->strategy.group == group
        && it->strategy.type == scheduling_strategy::kind::placement_group) {
      io_.deny(it->requester, it->request_id,
               "placement group " + std::to_string(group) + " was removed");
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  dispatch();
}

resource_report scheduler_state::report() const {
  return {node_id_, total_, available_, static_cast<std::uint32_t>(pending_.size())};
}

resource_map* scheduler_state::pool_for(const lease_request& req, bundle_key* key) {
  if (req.strategy.type != scheduling_strategy::kind::placement_group) {
    *key = {0, -1};
    return fits(available_, req.resources) ? &available_ : nullptr;
  }
  for (auto& [k, b] : bundles_)
    if (k.first == req.strategy.group && (req.strategy.bundle < 0 || k.second == req.strategy.bundle)
        && fits(b.available, req.resources)) {
      *key = k;
      return &b.available;
    }
  return nullptr;
}

bool scheduler_state::bundle_feasible(const lease_request& req) const {
  for (auto& [k, b] : bundles_)
    if (k.first == req.strategy.group && (req.strategy.bundle < 0 || k.second == req.strategy.bundle)
        && fits(b.total, req.resources))
      return true;
  return false;
}

resource_map& scheduler_state::pool_of(const worker& w) {
  if (w.group != 0)
    if (auto it = bundles_.find({w.group, w.bundle}); it != bundles_.end())
      return it->second.available;
  return available_;
}

void scheduler_state::prestart(const std::string& exe, std::size_t count) {
  auto& target = pool_target_[exe];
  target = std::max(target, count);
  refill(exe);
}

std::size_t scheduler_state::task_workers() const {
  return static_cast<std::size_t>(std::count_if(workers_.begin(), workers_.end(), [](auto& kv) {
    auto& w = kv.second;
    return !w.dedicated && !w.host && !w.starts_as_host;
  }));
}

std::size_t scheduler_state::pool_size(const std::string& exe) const {
  std::size_t have = 0;
  for (auto& [id, w] : workers_)
    have += w.exe == exe && !w.dedicated && !w.host && !w.starts_as_host ? 1 : 0;
  return have;
}

void scheduler_state::refill(const std::string& exe) {
  auto it = pool_target_.find(exe);
  if (it == pool_target_.end())
    return;
  for (auto have = pool_size(exe); have < it->second && task_workers() < max_workers_;
       ++have)
    start_worker(exe);
}

void scheduler_state::kill(std::uint64_t worker_id) {
  if (auto it = workers_.find(worker_id); it != workers_.end())
    io_.kill_worker(it->second.pid); // its exit arrives through on_child_exit
}

void scheduler_state::job_started(const std::string& exe) {
  ++jobs_[exe];
}

void scheduler_state::job_ended(const std::string& exe) {
  auto it = jobs_.find(exe);
  if (it == jobs_.end() || --it->second > 0)
    return;
  jobs_.erase(it);
  pool_target_.erase(exe);
  for (auto w = workers_.begin(); w != workers_.end();) {
    // Hosts stay while they hold actors (detached ones outlive their job).
    bool hosting = (w->second.host || w->second.starts_as_host) && w->second.actors > 0;
    if (w->second.exe != exe || w->second.dedicated || hosting) {
      ++w;
      continue;
    }
    if (w->second.st == wstate::leased && !w->second.blocked)
      give(pool_of(w->second), w->second.held);
    io_.kill_worker(w->second.pid);
    w = workers_.erase(w);
  }
  dispatch();
}

void scheduler_state::exe_ready(const std::string& exe) {
  pending_exes_.erase(exe);
  refill(exe);
  dispatch();
}

void scheduler_state::exe_failed(const std::string& exe, const std::string& why) {
  pending_exes_.erase(exe);
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->exe != exe) {
      ++it;
      continue;
    }
    io_.deny(it->requester, it->request_id, why);
    it = pending_.erase(it);
  }
}

void scheduler_state::start_worker(const std::string& exe) {
  if (pending_exes_.count(exe))
    return; // started once the executable is here
  auto id = next_worker_++;
  worker w;
  w.id = id;
  w.exe = exe;
  w.pid = io_.start_worker(exe, id);
  if (w.pid < 0)
    return;
  workers_.emplace(id, std::move(w));
}

void scheduler_state::on_register(const worker_hello& hello) {
  auto it = workers_.find(hello.worker_id);
  if (it == workers_.end() || it->second.st != wstate::starting)
    return; // a stale or foreign worker: ignore it
  it->second.executor = hello.executor;
  it->second.address = hello.address;
  it->second.core = hello.core;
  it->second.st = wstate::idle;
  if (it->second.starts_as_host) {
    it->second.starts_as_host = false;
    it->second.host = true;
    it->second.st = wstate::leased;
  }
  dispatch();
}

void scheduler_state::on_lease(const lease_request& req) {
  using kind = scheduling_strategy::kind;
  auto strategy = req.strategy.type;
  if (!req.placed) {
    // Strategies are the cluster scheduler's business, and so is a request
    // this node cannot serve now when there are other nodes.
    bool elsewhere = req.locality_node != 0 && req.locality_node != node_id_;
    bool busy = !fits(available_, req.resources);
    if (strategy != kind::default_
        || (cluster_size_ > 1 && (elsewhere || busy || !fits(total_, req.resources)))) {
      io_.spill(req);
      return;
    }
  }
  if (strategy == kind::placement_group) {
    if (!bundle_feasible(req)) {
      io_.deny(req.requester, req.request_id,
               "task '" + req.task_name + "' needs " + to_string(req.resources)
                 + ", which no bundle of placement group " + std::to_string(req.strategy.group)
                 + " on node " + std::to_string(node_id_) + " holds");
      return;
    }
  } else if (!fits(total_, req.resources)) {
    io_.deny(req.requester, req.request_id,
             "task '" + req.task_name + "' needs " + to_string(req.resources) + " but "
               + (cluster_size_ > 1 ? "node " + std::to_string(node_id_)
                                    : std::string{"the cluster's only node"})
               + " has " + to_string(total_) + ": no node can ever run it");
    return;
  }
  pending_.push_back(req);
  dispatch();
}

void scheduler_state::on_cancel(std::uint64_t request_id,
                                const caf::actor_addr& requester) {
  auto it = std::find_if(pending_.begin(), pending_.end(), [&](auto& r) {
    return r.request_id == request_id && r.requester.address() == requester;
  });
  if (it != pending_.end())
    pending_.erase(it);
}

void scheduler_state::release(worker& w) {
  if (!w.blocked)
    give(pool_of(w), w.held);
  w.held.clear();
  w.group = 0;
  w.bundle = -1;
  w.holder = nullptr;
  w.blocked = false;
  w.dedicated = false;
  w.st = wstate::idle;
}

void scheduler_state::on_return(std::uint64_t worker_id) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.st != wstate::leased)
    return;
  release(it->second);
  dispatch();
}

void scheduler_state::on_blocked(std::uint64_t worker_id) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || it->second.st != wstate::leased || it->second.blocked)
    return;
  it->second.blocked = true;
  give(pool_of(it->second), it->second.held);
  dispatch();
}

void scheduler_state::on_unblocked(std::uint64_t worker_id) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || !it->second.blocked)
    return;
  it->second.blocked = false;
  take(pool_of(it->second), it->second.held); // may oversubscribe for a while
}

void scheduler_state::on_child_exit(int pid, int status) {
  auto it = std::find_if(workers_.begin(), workers_.end(),
                         [&](auto& kv) { return kv.second.pid == pid; });
  if (it == workers_.end())
    return;
  auto w = std::move(it->second);
  workers_.erase(it);
  auto why = "worker process " + std::to_string(pid) + " "
             + detail::describe_exit(status);
  if (w.host) {
    host_exited(w, {status, why});
    dispatch();
    return;
  }
  if (w.st == wstate::leased) {
    if (!w.blocked)
      give(pool_of(w), w.held);
    // An actor's worker: the control store settles the actor's death once
    // it is up; until then only its holder knows that it was building one.
    if (w.dedicated)
      io_.dedicated_worker_exited(w.id, {status, why});
    io_.worker_died(w.holder, w.id, why);
  }
  // Keep the job's pool at its size: the node goes on serving.
  refill(w.exe);
  dispatch();
}

void scheduler_state::on_worker_down(const caf::actor_addr& executor) {
  for (auto& [id, w] : workers_)
    if (w.executor && w.executor.address() == executor)
      io_.kill_worker(w.pid); // its exit status arrives through on_child_exit
}

void scheduler_state::on_holder_down(const caf::actor_addr& holder) {
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                [&](auto& r) { return r.requester.address() == holder; }),
                 pending_.end());
  for (auto& [id, w] : workers_)
    if (w.st == wstate::leased && !w.dedicated && w.holder.address() == holder)
      release(w);
  dispatch();
}

void scheduler_state::dispatch() {
  std::map<std::string, std::size_t> starting, wanted;
  for (auto& [id, w] : workers_)
    if (w.st == wstate::starting)
      ++starting[w.exe];
  // `spare` is what is left once the requests waiting for a worker to start
  // have their share: a worker is started only for a request that fits.
  auto spare = available_;
  std::vector<std::string> refilled; // pools that gave a worker to an actor
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->host) {
      it = serve_host_request(*it) ? pending_.erase(it) : std::next(it);
      continue;
    }
    bundle_key key;
    auto* pool = pool_for(*it, &key);
    if (!pool) {
      ++it;
      continue;
    }
    auto wit = std::find_if(workers_.begin(), workers_.end(), [&](auto& kv) {
      return kv.second.st == wstate::idle && kv.second.exe == it->exe;
    });
    if (wit == workers_.end()) {
      if (key.first != 0) {
        ++wanted[it->exe]; // a bundle's resources are there for it alone
      } else if (fits(spare, it->resources)) {
        take(spare, it->resources);
        ++wanted[it->exe];
      }
      ++it;
      continue;
    }
    auto& w = wit->second;
    w.st = wstate::leased;
    w.holder = it->requester;
    w.held = it->resources;
    w.dedicated = it->dedicated;
    w.group = key.first;
    w.bundle = key.second;
    take(*pool, w.held);
    if (key.first == 0)
      take(spare, w.held);
    io_.grant(it->requester,
              {it->request_id, w.id, w.pid, w.executor, node_id_, {}, w.address, w.core});
    if (w.dedicated)
      refilled.push_back(w.exe);
    it = pending_.erase(it);
  }
  for (auto& exe : refilled)
    refill(exe);
  for (auto& [exe, n] : wanted)
    for (auto have = starting[exe]; have < n; ++have) {
      if (task_workers() >= max_workers_ && !evict_idle_worker_except(exe))
        break;
      start_worker(exe);
    }
}

bool scheduler_state::evict_idle_worker_except(const std::string& exe) {
  auto it = std::find_if(workers_.begin(), workers_.end(), [&](auto& kv) {
    return kv.second.st == wstate::idle && kv.second.exe != exe;
  });
  if (it == workers_.end())
    return false;
  // Its job's pool shrinks by one, so its exit does not start a replacement.
  auto& target = pool_target_[it->second.exe];
  target = target > 0 ? target - 1 : 0;
  io_.kill_worker(it->second.pid);
  workers_.erase(it);
  return true;
}

void scheduler_state::stop_all() {
  for (auto& [id, w] : workers_)
    io_.kill_worker(w.pid);
  pending_.clear();
}

std::string scheduler_state::describe_json() const {
  local_scheduler_status doc;
  doc.total = total_;
  doc.available = available_;
  for (auto& [id, w] : workers_) {
    doc.workers.idle += w.st == wstate::idle;
    doc.workers.leased += w.st == wstate::leased;
    doc.workers.starting += w.st == wstate::starting;
    doc.workers.blocked += w.blocked;
  }
  for (auto& r : pending_)
    doc.pending_demands.push_back(r.resources);
  return to_json_text(doc);
}

} // namespace troupe::sched
