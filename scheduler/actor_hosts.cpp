// The local scheduler's actor hosts: workers of a job that hold many light
// actors (actor_isolation::shared). The state machine of the other workers
// is in scheduler_state.cpp; a host is a worker that is leased for good to
// nobody in particular, and whose resources are the sum of its actors'.
#include "scheduler/scheduler_state.hpp"

#include <algorithm>
#include <cmath>

#include "scheduler/resources.hpp"

namespace troupe::sched {

void scheduler_state::set_actor_hosts(std::size_t per_node, std::size_t max_actors_per_host) {
  hosts_per_node_ = per_node;
  max_actors_per_host_ = max_actors_per_host;
}

std::size_t scheduler_state::host_target() const {
  if (hosts_per_node_ > 0)
    return hosts_per_node_;
  auto cpus = total_.find("CPU");
  auto n = cpus == total_.end() ? 1.0 : std::floor(cpus->second);
  return static_cast<std::size_t>(std::max(1.0, n));
}

void scheduler_state::grow_hosts(const std::string& exe) {
  std::size_t have = 0;
  for (auto& [id, w] : workers_)
    have += w.exe == exe && (w.host || w.starts_as_host) ? 1 : 0;
  bool took_idle = false;
  for (auto& [id, w] : workers_) {
    if (have >= host_target())
      break;
    if (w.exe != exe || w.st != wstate::idle)
      continue;
    // An idle worker of the job's pool becomes a host at once; the pool
    // starts another in its place.
    w.st = wstate::leased;
    w.host = true;
    ++have;
    took_idle = true;
  }
  for (; have < host_target(); ++have) {
    auto id = next_worker_;
    start_worker(exe);
    auto it = workers_.find(id);
    if (it == workers_.end())
      break; // cannot start now (its executable is being fetched)
    it->second.starts_as_host = true;
  }
  if (took_idle)
    refill(exe);
}

bool scheduler_state::serve_host_request(const lease_request& req) {
  bundle_key key;
  auto* pool = pool_for(req, &key);
  if (!pool)
    return false;
  grow_hosts(req.exe);
  // The job's host with the fewest actors takes them; when that is one
  // still starting, they wait for it (a burst at a job's start is spread
  // over all its hosts, not piled onto the first one up).
  worker* best = nullptr;
  std::size_t hosts = 0;
  for (auto& [id, w] : workers_) {
    if (w.exe != req.exe || !(w.host || w.starts_as_host))
      continue;
    ++hosts;
    if (max_actors_per_host_ > 0 && w.actors >= max_actors_per_host_)
      continue;
    bool up = w.host && w.executor;
    bool best_up = best && best->host && best->executor;
    if (!best || w.actors < best->actors || (w.actors == best->actors && up && !best_up))
      best = &w;
  }
  if (!best || !best->host || !best->executor)
    return false; // starting (or all full: more start as actors end)
  // A share of a burst only: the rest asks again, for the next host.
  std::size_t room = (req.count + hosts - 1) / hosts;
  if (max_actors_per_host_ > 0)
    room = std::min(room, max_actors_per_host_ - best->actors);
  std::uint32_t n = 0;
  while (n < req.count && n < room && fits(*pool, req.resources)) {
    take(*pool, req.resources);
    give(best->held, req.resources);
    ++n;
  }
  if (n == 0)
    return false;
  best->actors += n;
  if (std::find(best->creators.begin(), best->creators.end(), req.requester)
      == best->creators.end())
    best->creators.push_back(req.requester);
  lease_grant g{req.request_id, best->id, best->pid, best->executor, node_id_, {},
                best->address, best->core};
  g.slots = n;
  io_.grant(req.requester, g);
  return true;
}

void scheduler_state::on_slots_released(std::uint64_t worker_id, const resource_map& each,
                                        std::uint32_t count) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end() || !it->second.host)
    return; // gone already: everything it held came back then
  auto& w = it->second;
  for (std::uint32_t i = 0; i < count && w.actors > 0; ++i) {
    take(w.held, each);
    give(available_, each);
    --w.actors;
  }
  // A host whose job is gone and that holds no actor any more goes too.
  if (w.actors == 0 && jobs_.count(w.exe) == 0) {
    io_.kill_worker(w.pid);
    give(available_, w.held);
    workers_.erase(it);
  }
  dispatch();
}

void scheduler_state::host_exited(worker& w, const process_exit& how) {
  give(available_, w.held);
  w.held.clear();
  io_.dedicated_worker_exited(w.id, how);
  for (auto& creator : w.creators)
    io_.worker_died(creator, w.id, how.description);
}

} // namespace troupe::sched
