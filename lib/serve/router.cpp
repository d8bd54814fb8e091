#include "router.hpp"

#include <algorithm>
#include <cmath>

namespace troupe::serve::detail {

namespace {

int count(const router::deployment& d, replica_state s, const std::string* version) {
  return static_cast<int>(std::count_if(d.replicas.begin(), d.replicas.end(),
                                        [&](const replica_slot& r) {
                                          return r.state == s
                                                 && (!version || r.version == *version);
                                        }));
}

} // namespace

void router::set_target(const std::string& name, const target& t) {
  auto& d = deployments_[name];
  d.goal = t;
  d.start_failures = 0;
  d.last_error.clear();
  if (!t.autoscaling)
    d.desired = std::max(1, t.num_replicas);
  else
    d.desired = std::clamp(d.desired, std::max(1, t.min_replicas),
                           std::max(t.min_replicas, t.max_replicas));
}

std::vector<std::uint64_t> router::remove(const std::string& name) {
  std::vector<std::uint64_t> out;
  if (auto it = deployments_.find(name); it != deployments_.end()) {
    for (auto& r : it->second.replicas)
      out.push_back(r.id);
    deployments_.erase(it);
  }
  return out;
}

std::optional<std::string> router::route(const std::string& path) const {
  std::optional<std::string> best;
  std::size_t best_len = 0;
  for (auto& [name, d] : deployments_) {
    auto& r = d.goal.route;
    bool match = path == r || (path.starts_with(r) && (r.ends_with('/') || path[r.size()] == '/'));
    if (match && (!best || r.size() > best_len)) {
      best = name;
      best_len = r.size();
    }
  }
  return best;
}

std::optional<std::uint64_t> router::pick(const std::string& name) {
  auto it = deployments_.find(name);
  if (it == deployments_.end())
    return std::nullopt;
  auto& reps = it->second.replicas;
  replica_slot* best = nullptr;
  auto n = reps.size();
  ++turn_;
  for (std::size_t k = 0; k < n; ++k) { // start at a rotating place: ties in turn
    auto& r = reps[(turn_ + k) % n];
    if (r.state == replica_state::active && (!best || r.outstanding < best->outstanding))
      best = &r;
  }
  if (!best)
    return std::nullopt;
  ++best->outstanding;
  return best->id;
}

void router::done(const std::string& name, std::uint64_t id, bool failed, bool died) {
  auto it = deployments_.find(name);
  if (it == deployments_.end())
    return;
  auto& d = it->second;
  if (!died) {
    ++d.requests;
    d.failed += failed;
  }
  if (auto* r = find(name, id)) {
    --r->outstanding;
    if (died)
      erase(d, id); // the control loop starts another
  }
}

void router::ready(const std::string& name, std::uint64_t id) {
  if (auto* r = find(name, id); r && r->state == replica_state::starting) {
    r->state = replica_state::active;
    deployments_[name].start_failures = 0;
  }
}

void router::start_failed(const std::string& name, std::uint64_t id, const std::string& why) {
  auto it = deployments_.find(name);
  if (it == deployments_.end())
    return;
  ++it->second.start_failures;
  it->second.last_error = why;
  erase(it->second, id);
}

int router::wanted(deployment& d, clock::time_point now) {
  auto& g = d.goal;
  if (!g.autoscaling)
    return d.desired = std::max(1, g.num_replicas);
  std::int64_t outstanding = 0;
  for (auto& r : d.replicas)
    outstanding += r.outstanding;
  auto lo = std::max(1, g.min_replicas);
  auto hi = std::max(lo, g.max_replicas);
  auto load = static_cast<int>(
    std::ceil(static_cast<double>(outstanding) / std::max(1e-9, g.target_ongoing_requests)));
  auto want = std::clamp(load, lo, hi);
  if (want >= d.desired) {
    d.below_since.reset();
    d.desired = want; // up at once
  } else if (!d.below_since) {
    d.below_since = now;
  } else if (std::chrono::duration<double>(now - *d.below_since).count()
             >= g.downscale_delay_s) {
    d.desired = want; // down after the delay
    d.below_since.reset();
  }
  return d.desired;
}

plan_steps router::plan(clock::time_point now) {
  plan_steps out;
  for (auto& [name, d] : deployments_) {
    auto n = wanted(d, now);
    auto& v = d.goal.version;
    auto live = count(d, replica_state::starting, &v) + count(d, replica_state::active, &v);
    // A deployment whose replicas keep failing to start waits for a new
    // target (deploy() reports the error) instead of spawning for ever.
    if (d.start_failures < 3)
      for (int k = live; k < n; ++k) {
        auto id = next_id_++;
        d.replicas.push_back({id, v, replica_state::starting, 0});
        out.starts.push_back({name, id, v});
      }
    auto active_v = count(d, replica_state::active, &v);
    int keep = n;
    for (auto& r : d.replicas) {
      if (r.state == replica_state::draining)
        continue;
      bool old = r.version != v;
      if (old && active_v >= n) {
        r.state = replica_state::draining; // the new version serves: the old goes
      } else if (!old && r.state == replica_state::active) {
        if (keep > 0)
          --keep;
        else
          r.state = replica_state::draining; // scaled down
      }
    }
    // Drained: the last request was answered.
    std::erase_if(d.replicas, [&](const replica_slot& r) {
      bool done = r.state == replica_state::draining && r.outstanding <= 0;
      if (done)
        out.kills.push_back(r.id);
      return done;
    });
  }
  return out;
}

bool router::converged(const std::string& name) const {
  auto it = deployments_.find(name);
  if (it == deployments_.end())
    return false;
  auto& d = it->second;
  auto& v = d.goal.version;
  return count(d, replica_state::active, &v) >= d.desired
         && d.replicas.size() == static_cast<std::size_t>(count(d, replica_state::active, &v));
}

int router::start_failures(const std::string& name) const {
  auto it = deployments_.find(name);
  return it == deployments_.end() ? 0 : it->second.start_failures;
}

replica_slot* router::find(const std::string& name, std::uint64_t id) {
  auto it = deployments_.find(name);
  if (it == deployments_.end())
    return nullptr;
  for (auto& r : it->second.replicas)
    if (r.id == id)
      return &r;
  return nullptr;
}

void router::erase(deployment& d, std::uint64_t id) {
  std::erase_if(d.replicas, [id](const replica_slot& r) { return r.id == id; });
}

} // namespace troupe::serve::detail
