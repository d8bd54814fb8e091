#include "lib/core/submitter.hpp"

#include <algorithm>
#include <sstream>

#include <caf/send.hpp>

#include "lib/protocol/capnp_codec.hpp"

namespace troupe::detail {

void submitter_io::ack_stream(const stream_actor& producer, const object_id& stream,
                              std::uint64_t taken) {
  caf::anon_send(producer, ack_atom::value, stream, taken);
}

std::string shape_key(const resource_map& resources) {
  std::ostringstream out;
  for (auto& [name, amount] : resources)
    if (amount != 0)
      out << name << '=' << amount << ',';
  return out.str();
}

submitter::submitter(object_table& table, submitter_io& io, std::string exe,
                     core_actor self, submitter_config cfg)
  : table_(table), io_(io), exe_(std::move(exe)), self_(std::move(self)),
    cfg_(cfg) {
}

void submitter::submit(task_record task) {
  auto id = task.task_id;
  auto& t = tasks_.emplace(id, std::move(task)).first->second;
  if (node_down_) {
    auto why = *node_down_;
    why.task_name = t.name;
    finish(id, nullptr, &why);
    return;
  }
  if (t.actor_id.valid() && !t.creates_actor) {
    // Calls keep their place in the actor's queue from now on.
    auto& a = actors_[t.actor_id];
    if (a.st == actor_calls::phase::dead) {
      auto why = *a.death;
      finish(id, nullptr, &why);
      return;
    }
    if (a.queued.empty() && a.st == actor_calls::phase::alive) {
      // Nothing waits before it: a call with its arguments ready goes to
      // the outbox now (pump_actor would look the task up again).
      if (resolve_args(t))
        to_outbox(a, id);
      else if (tasks_.count(id) != 0)
        a.queued.push_back(id); // waits for its arguments (not failed)
      return;
    }
    a.queued.push_back(id);
    if (a.st == actor_calls::phase::unresolved) {
      a.st = actor_calls::phase::resolving;
      io_.resolve_actor(t.actor_id);
    }
    if (resolve_args(t))
      pump_actor(a); // the queue of the actor just looked up
    return;
  }
  resolve(t);
}

std::string submitter::key_of(const task_record& t, std::uint64_t locality) {
  auto key = shape_key(t.resources)
             + (t.creates_actor ? (t.shared_actor ? "|light" : "|actor") : "");
  auto& s = t.strategy;
  if (s.type != scheduling_strategy::kind::default_)
    key += "|s" + std::to_string(static_cast<int>(s.type)) + ":" + std::to_string(s.node)
           + ":" + std::to_string(s.soft) + ":" + std::to_string(s.group) + ":"
           + std::to_string(s.bundle);
  if (locality != 0)
    key += "|near" + std::to_string(locality);
  return key;
}

void submitter::enqueue(std::uint64_t task_id) {
  auto& t = at_or_throw(tasks_, task_id, "submitter.cpp:1");
  if (t.actor_id.valid() && !t.creates_actor) {
    pump_actor(t.actor_id); // it waits in the actor's queue already
    return;
  }
  auto near = locality_of(t);
  auto key = key_of(t, near);
  auto& s = shapes_[key];
  if (s.resources.empty())
    s.resources = t.resources;
  s.strategy = t.strategy;
  s.locality_node = near;
  s.dedicated = t.creates_actor;
  s.host = t.shared_actor;
  s.queued.push_back(task_id);
  pump(key);
}

bool submitter::serves(const shape& s, const lease& l) const {
  using kind = scheduling_strategy::kind;
  switch (s.strategy.type) {
    case kind::default_:
      return s.locality_node == 0 || l.node_id == s.locality_node;
    case kind::node_affinity:
      return l.node_id == s.strategy.node;
    default:
      return false; // SPREAD wants a lease of its own; a group, its bundle
  }
}

void submitter::adopt_idle_leases(const std::string& key) {
  auto& s = shapes_[key];
  if (s.dedicated)
    return;
  auto wanted = s.queued.size();
  for (auto& [other_key, o] : shapes_) {
    if (other_key == key || o.dedicated || !o.queued.empty() || o.resources != s.resources)
      continue;
    for (auto it = o.leases.begin(); it != o.leases.end() && s.leases.size() < wanted;) {
      auto& l = at_or_throw(leases_, *it, "submitter.cpp:L6");
      if (l.in_flight > 0 || !serves(s, l)) {
        ++it;
        continue;
      }
      // The worker holds the resources this shape needs, on a node it may
      // use: take it over instead of leasing another.
      l.key = key;
      s.leases.push_back(*it);
      it = o.leases.erase(it);
    }
  }
}

void submitter::pump_light(const std::string& key) {
  auto& s = shapes_[key];
  for (auto wid : s.leases) {
    auto& l = at_or_throw(leases_, wid, "submitter.cpp:light");
    while (!s.queued.empty() && l.in_flight < l.slots) {
      auto tid = s.queued.front();
      s.queued.pop_front();
      at_or_throw(tasks_, tid, "submitter.cpp:light2").worker_id = wid;
      ++l.in_flight;
      ++s.in_flight;
      if (l.outbox.empty())
        dirty_leases_.push_back(wid);
      l.outbox.push_back(tid);
    }
  }
  // One request at a time: its grant places a whole burst on one host.
  if (s.queued.empty() || !s.pending_requests.empty())
    return;
  constexpr std::size_t most_per_grant = 4096;
  auto rid = next_request_++;
  auto& first = at_or_throw(tasks_, s.queued.front(), "submitter.cpp:light3");
  s.pending_requests.emplace(rid, first.name);
  lease_request req{rid, exe_, s.resources, first.name, self_, true};
  req.host = true;
  req.count = static_cast<std::uint32_t>(std::min(s.queued.size(), most_per_grant));
  req.strategy = s.strategy;
  req.locality_node = s.locality_node;
  io_.request_lease(std::move(req));
}

void submitter::pump(const std::string& key) {
  auto& s = shapes_[key];
  if (s.host) {
    pump_light(key);
    return;
  }
  if (s.leases.size() < s.queued.size())
    adopt_idle_leases(key);
  auto total = s.queued.size() + s.in_flight;
  // Ask for workers for the whole demand first, so that a burst is spread
  // over the workers that will come instead of piling onto the first one.
  if (!s.queued.empty()) {
    auto want = std::min<std::size_t>(total > s.leases.size() ? total - s.leases.size() : 0,
                                      cfg_.max_pending_leases);
    while (s.pending_requests.size() < want) {
      auto rid = next_request_++;
      auto& first = at_or_throw(tasks_, s.queued.front(), "submitter.cpp:2");
      s.pending_requests.emplace(rid, first.name);
      lease_request req{rid, exe_, s.resources, first.name, self_, s.dedicated};
      req.strategy = s.strategy;
      req.locality_node = s.locality_node;
      io_.request_lease(std::move(req));
    }
  }
  while (!s.queued.empty() && !s.leases.empty()) {
    lease* best = nullptr;
    for (auto wid : s.leases) {
      auto& l = at_or_throw(leases_, wid, "submitter.cpp:L7");
      if (!best || l.in_flight < best->in_flight)
        best = &l;
    }
    auto slots = std::max<std::size_t>(1, s.leases.size() + s.pending_requests.size());
    auto share = std::clamp<std::size_t>((total + slots - 1) / slots, 1,
                                         cfg_.max_in_flight_per_worker);
    auto tid = s.queued.front();
    // SPREAD tasks never queue behind each other: each takes a lease (and
    // so, as far as the cluster allows, a node) of its own.
    bool spread = s.strategy.type == scheduling_strategy::kind::spread;
    if (best->in_flight >= share
        || (best->in_flight > 0
            && (s.dedicated || spread || !pipelinable(at_or_throw(tasks_, tid, "submitter.cpp:3").fn))))
      break;
    s.queued.pop_front();
    at_or_throw(tasks_, tid, "submitter.cpp:4").worker_id = best->worker_id;
    ++best->in_flight;
    ++s.in_flight;
    if (best->outbox.empty())
      dirty_leases_.push_back(best->worker_id);
    best->outbox.push_back(tid);
  }
  if (s.queued.empty()) {
    for (auto& [rid, name] : s.pending_requests)
      io_.cancel_lease(rid);
    s.pending_requests.clear();
  }
}

std::vector<char> submitter::encode_batch(const std::vector<std::uint64_t>& ids) {
  capnp::MallocMessageBuilder builder{first_segment_words(ids.size(), 48)};
  auto batch = builder.initRoot<schema::TaskBatch>();
  auto list = batch.initTasks(static_cast<unsigned>(ids.size()));
  for (unsigned i = 0; i < ids.size(); ++i) {
    auto& t = at_or_throw(tasks_, ids[i], "submitter.cpp:5");
    auto spec = list[i];
    spec.setTaskId(t.task_id);
    spec.setFunction(as_text(t.fn->name));
    spec.setName(as_text(t.name));
    spec.setMaxConcurrency(t.max_concurrency);
    if (t.creates_actor)
      write_object_id(spec.initActorId(), t.actor_id);
    write_object_id(spec.initReturnId(), t.return_id);
    if (!t.extra_returns.empty()) {
      auto extra = spec.initExtraReturnIds(static_cast<unsigned>(t.extra_returns.size()));
      for (unsigned e = 0; e < t.extra_returns.size(); ++e)
        write_object_id(extra[e], t.extra_returns[e]);
    }
    spec.setBackpressure(t.backpressure);
    spec.setJobId(t.job);
    spec.setRestarts(t.restarts);
    if (t.shared_actor) {
      spec.setSharedActor(true);
      auto res = spec.initResources(static_cast<unsigned>(t.resources.size()));
      unsigned r = 0;
      for (auto& [name, amount] : t.resources) {
        res[r].setName(name);
        res[r++].setAmount(amount);
      }
    }
    auto args = spec.initArgs(static_cast<unsigned>(t.resolved.size()));
    for (unsigned a = 0; a < t.resolved.size(); ++a)
      write_value(args[a], t.resolved[a].value);
  }
  return to_bytes(builder);
}

void submitter::offer_creation(std::uint64_t task_id, const shape& s) {
  auto& t = at_or_throw(tasks_, task_id, "submitter.cpp:offer");
  if (!t.creates_actor || t.restarts != 0 || t.max_restarts == 0)
    return;
  for (auto& a : t.resolved)
    if (a.value.in_store)
      return;
  io_.keep_creation({t.actor_id, encode_batch({task_id}), exe_, s.resources, s.strategy});
}

void submitter::flush() {
  for (auto wid : dirty_leases_) {
    auto it = leases_.find(wid);
    if (it == leases_.end() || it->second.outbox.empty())
      continue;
    auto& l = it->second;
    auto& s = shapes_[l.key];
    if (s.dedicated)
      for (auto tid : l.outbox) {
        offer_creation(tid, s);
        building_[wid].push_back({tid, l.node_id});
      }
    io_.push(l.executor, encode_batch(l.outbox));
    l.outbox.clear();
    if (s.dedicated) {
      // The worker now hosts an actor: it is no lease of ours any more.
      if (s.host && l.slots > l.in_flight)
        io_.release_slots(wid, s.resources, l.slots - l.in_flight, l.scheduler);
      s.in_flight -= std::min<std::uint32_t>(s.in_flight, l.in_flight);
      s.leases.erase(std::remove(s.leases.begin(), s.leases.end(), wid), s.leases.end());
      leases_.erase(it);
    }
  }
  dirty_leases_.clear();
  for (auto* dirty : dirty_actors_) {
    auto& a = *dirty;
    if (a.outbox.empty())
      continue;
    if (a.shared) {
      dirty_light_.push_back(&a); // its outbox fills until flush_light
      continue;
    }
    io_.push(a.instance, encode_batch(a.outbox));
    a.outbox.clear();
  }
  dirty_actors_.clear();
  if (!dirty_light_.empty() && !light_flush_asked_) {
    light_flush_asked_ = true;
    io_.schedule_light_flush();
  }
}

void submitter::on_granted(const lease_grant& grant) {
  for (auto& [key, s] : shapes_) {
    if (s.pending_requests.erase(grant.request_id) == 0)
      continue;
    if (s.host && leases_.count(grant.worker_id)) {
      // Another grant on the same host, not yet flushed: hand it back.
      io_.release_slots(grant.worker_id, s.resources, grant.slots, grant.scheduler);
      pump(key);
      return;
    }
    if (auto had = leases_.find(grant.worker_id); had != leases_.end()) {
      // Granted again while we hold it (the scheduler took it back, as
      // after a node's death, and gave it anew): it moves to this shape,
      // in one shape's list only, with its tasks in flight.
      auto& old = shapes_[had->second.key];
      std::erase(old.leases, grant.worker_id);
      old.in_flight -= std::min(old.in_flight, had->second.in_flight);
      s.in_flight += had->second.in_flight;
    }
    auto& l = leases_[grant.worker_id];
    l.worker_id = grant.worker_id;
    l.slots = s.host ? grant.slots : 1;
    l.executor = grant.executor;
    l.core = grant.core;
    l.scheduler = grant.scheduler;
    l.node_id = grant.node_id;
    l.key = key;
    l.idle_since = clock::now();
    s.leases.push_back(grant.worker_id);
    pump(key);
    if (s.host && l.in_flight == 0) {
      // Its creations went meanwhile (failed, cancelled): nothing to build.
      io_.release_slots(grant.worker_id, s.resources, l.slots, grant.scheduler);
      std::erase(s.leases, grant.worker_id);
      leases_.erase(grant.worker_id);
      return;
    }
    if (l.in_flight == 0 && !tick_scheduled_) {
      tick_scheduled_ = true;
      io_.schedule_tick(cfg_.lease_idle_timeout);
    }
    return;
  }
  io_.return_lease(grant.worker_id, grant.scheduler); // cancelled in the meantime
}

void submitter::on_denied(std::uint64_t request_id, const std::string& why) {
  for (auto& [key, s] : shapes_) {
    if (s.pending_requests.erase(request_id) == 0)
      continue;
    if (!s.leases.empty())
      return; // other workers serve this shape
    auto queued = std::move(s.queued);
    s.queued.clear();
    for (auto& [rid, name] : s.pending_requests)
      io_.cancel_lease(rid);
    s.pending_requests.clear();
    for (auto tid : queued) {
      auto it = tasks_.find(tid);
      if (it == tasks_.end())
        continue;
      error_info e{error_kind::unschedulable, it->second.name, "", why};
      finish(tid, nullptr, &e);
    }
    return;
  }
}

void submitter::on_tick() {
  tick_scheduled_ = false;
  auto now = clock::now();
  std::vector<std::uint64_t> expired;
  bool idle_left = false;
  for (auto& [wid, l] : leases_) {
    if (l.in_flight > 0 || !shapes_[l.key].queued.empty())
      continue;
    if (now - l.idle_since >= cfg_.lease_idle_timeout)
      expired.push_back(wid);
    else
      idle_left = true;
  }
  for (auto wid : expired)
    release_lease(wid);
  if (idle_left) {
    tick_scheduled_ = true;
    io_.schedule_tick(cfg_.lease_idle_timeout);
  }
}

void submitter::release_lease(std::uint64_t worker_id) {
  auto lit = leases_.find(worker_id);
  if (lit == leases_.end())
    return;
  auto& s = shapes_[lit->second.key];
  s.leases.erase(std::remove(s.leases.begin(), s.leases.end(), worker_id),
                 s.leases.end());
  auto scheduler = lit->second.scheduler;
  leases_.erase(lit);
  io_.return_lease(worker_id, scheduler);
}

} // namespace troupe::detail
