// The submitter's outcomes: results and failures of tasks, the calls
// queued for each actor, and the process's task rows (submitter.hpp).
#include "lib/core/submitter.hpp"

#include <algorithm>
#include <sstream>

#include "lib/core/result_batch.hpp"
#include "lib/protocol/handles.hpp"

namespace troupe::detail {

void submitter::pump_actor(const object_id& id) {
  pump_actor(actors_[id]);
}

void submitter::to_outbox(actor_calls& a, std::uint64_t task_id) {
  if (a.outbox.empty())
    dirty_actors_.push_back(&a); // listed once until flush sends it
  a.outbox.push_back(task_id);
}

void submitter::pump_actor(actor_calls& a) {
  if (a.st != actor_calls::phase::alive)
    return;
  while (!a.queued.empty()) {
    auto& t = at_or_throw(tasks_, a.queued.front(), "submitter_results.cpp:1");
    if (t.unresolved > 0)
      break; // later calls wait behind it: calls run in the order made
    to_outbox(a, t.task_id);
    a.queued.pop_front();
  }
}

void submitter::on_actor_status(const actor_status& status) {
  auto& a = actors_[status.id];
  a.max_task_retries = status.max_task_retries;
  if (status.alive) {
    if (a.instance && a.instance != status.instance) {
      // Rebuilt since our calls went out (we never heard it restart).
      error_info why{error_kind::actor_died, status.death.task_name, "",
                     "the actor was restarted while the call ran"};
      lose_sent_calls(status.id, why);
    }
    a.st = actor_calls::phase::alive;
    a.instance = status.instance;
    a.instance_id = status.instance ? status.instance.id() : 0;
    a.worker_core = status.worker_core;
    a.shared = status.shared && status.worker_core;
    io_.monitor_instance(status.instance);
    pump_actor(status.id);
    return;
  }
  if (status.restarting) {
    // Calls sent to the old instance are lost; later ones wait for the new.
    lose_sent_calls(status.id, status.death);
    a.st = actor_calls::phase::resolving;
    io_.resolve_actor(status.id);
    return;
  }
  a.st = actor_calls::phase::dead;
  a.death = std::make_shared<const error_info>(status.death);
  a.instance = nullptr;
  a.instance_id = 0;
  a.queued.clear();
  a.outbox.clear();
  creations_.erase(status.id);
  fail_actor_calls(status.id, status.death);
}

void submitter::lose_sent_calls(const object_id& id, const error_info& why) {
  auto& a = actors_[id];
  a.instance = nullptr;
  a.instance_id = 0;
  // Calls in the outbox never left: they go back to the queue as they are.
  std::vector<std::uint64_t> back{a.outbox.begin(), a.outbox.end()};
  a.outbox.clear();
  std::vector<std::uint64_t> sent;
  for (auto& [tid, t] : tasks_)
    if (t.actor_id == id && !t.creates_actor
        && std::find(a.queued.begin(), a.queued.end(), tid) == a.queued.end()
        && std::find(back.begin(), back.end(), tid) == back.end())
      sent.push_back(tid);
  for (auto tid : sent) {
    auto& t = at_or_throw(tasks_, tid, "submitter_results.cpp:2");
    bool retry = a.max_task_retries < 0
                 || t.attempt <= static_cast<std::uint32_t>(a.max_task_retries);
    if (retry) {
      ++t.attempt;
      t.last_failure = std::make_shared<const error_info>(why);
      back.push_back(tid);
    } else {
      finish(tid, nullptr, &why);
    }
  }
  // Ids count up as calls are made: sent again in the order they were made.
  std::sort(back.begin(), back.end());
  a.queued.insert(a.queued.begin(), back.begin(), back.end());
}

void submitter::on_restart(const object_id& id, std::uint32_t restarts) {
  auto it = creations_.find(id);
  if (it == creations_.end()) {
    // The creation's answer may still be on its way (the instance answered
    // calls, on another path, and died): its record is the task itself.
    for (auto& [tid, t] : tasks_)
      if (t.creates_actor && t.actor_id == id && t.max_restarts != 0)
        it = creations_.insert_or_assign(id, t).first;
  }
  if (it == creations_.end()) {
    error_info why{error_kind::runtime, id.to_string(), "",
                   "its creator keeps no record to rebuild it from"};
    io_.actor_created(id, 0, restarts + 1, nullptr, &why);
    return;
  }
  auto t = it->second; // the record stays for later rebuilds
  t.task_id = next_rebuild_task_++;
  t.restarts = restarts + 1;
  t.worker_id = 0;
  t.unresolved = 0;
  submit(std::move(t));
}

bool submitter::on_instance_down(const caf::actor_addr& instance) {
  for (auto& [id, a] : actors_) {
    if (a.st != actor_calls::phase::alive || a.instance.address() != instance)
      continue;
    // The control store knows why; calls in flight fail once it tells.
    a.st = actor_calls::phase::resolving;
    io_.resolve_actor(id);
    return true;
  }
  return false;
}

void submitter::fail_actor_calls(const object_id& id, const error_info& why) {
  std::vector<std::uint64_t> doomed;
  for (auto& [tid, t] : tasks_)
    if (t.actor_id == id)
      doomed.push_back(tid);
  std::sort(doomed.begin(), doomed.end());
  for (auto tid : doomed) {
    auto it = tasks_.find(tid);
    if (it == tasks_.end())
      continue;
    if (it->second.creates_actor) {
      fail_task(tid, why);
      continue;
    }
    it->second.worker_id = 0;
    finish(tid, nullptr, &why);
  }
}
void submitter::on_results(const std::vector<char>& bytes,
                           const caf::strong_actor_ptr& sender) {
  // Read everything first: a batch that is malformed anywhere changes nothing.
  auto& results = parsed_;
  parse_results(bytes, results);
  object_table::wakeup_batch one_wakeup{table_};
  for (auto& p : results)
    adopt_values(io_, table_, p);
  for (auto& p : results) {
    if (p.item_index != 0) {
      if (p.lost_item)
        continue; // see adopt_values
      // Items are sent as their producer's stream actor, which hears acks.
      auto producer = handle_cast<stream_actor>(sender);
      if (!table_.push_item(p.stream, p.item_index, std::move(p.value), producer))
        io_.ack_stream(producer, p.stream, ~std::uint64_t{0}); // nobody reads it
      continue;
    }
    auto it = tasks_.find(p.task_id);
    if (it == tasks_.end() || !from_current_attempt(it->second, sender)) {
      // Sealed once: a late or duplicate answer changes nothing, and what
      // it stored goes back.
      if (p.ok)
        table_.discard(p.value);
      for (auto& v : p.extra)
        table_.discard(v);
      continue;
    }
    auto& fs = stats_[it->second.fn];
    auto us = static_cast<double>(p.exec_ns) / 1000.0;
    fs.avg_exec_us = fs.runs == 0 ? us : 0.8 * fs.avg_exec_us + 0.2 * us;
    ++fs.runs;
    if (it->second.fn && it->second.fn->streams)
      table_.end_stream(it->second.return_id, p.item_count);
    if (p.ok)
      finish_at(it, &p.value, nullptr, &p.extra);
    else if (p.error.kind == error_kind::object_lost
             && rebuild_lost_args(p.task_id, p.lost_argument))
      continue; // runs again once its lost arguments are rebuilt
    else if (!retry(p.task_id, p.error))
      finish(p.task_id, nullptr, &p.error);
  }
  // The worker registered us as the borrower of the refs inside its values:
  // handles take that over (whether the answer was taken or dropped), held
  // by the objects (made by now, items too) whose values hold them.
  for (auto& p : results)
    for (auto& [ref, held_by] : p.nested)
      table_.hold_nested(held_by, {table_.adopt(ref)});
  results.clear(); // the values' bytes go now; the vector keeps its capacity
}

bool submitter::from_current_attempt(const task_record& t,
                                     const caf::strong_actor_ptr& sender) const {
  // Every process is a CAF node of its own: the current attempt's answers
  // come from its lease's worker process (as the executor, its core or its
  // stream actor). Actor calls are matched with their instance elsewhere.
  // Creations are not retried, and their lease ends once they are pushed.
  // A first attempt went to one process only: the answer is from it (the
  // hot path compares no nodes).
  if (!sender || t.creates_actor || t.attempt == 1)
    return true;
  if (t.actor_id.valid()) {
    // A call: from the instance it was sent to, while it is the one.
    auto* a = actors_.find(t.actor_id);
    return a != nullptr && a->second.instance && a->second.instance.node() == sender->node();
  }
  auto lit = leases_.find(t.worker_id);
  return lit != leases_.end() && lit->second.executor
         && lit->second.executor.node() == sender->node();
}

bool submitter::retry(std::uint64_t task_id, const error_info& why) {
  auto& t = at_or_throw(tasks_, task_id, "submitter_results.cpp:3");
  if (t.actor_id.valid() || node_down_ || t.cancelled)
    return false;
  bool system = why.kind == error_kind::worker_crashed || why.kind == error_kind::node_died;
  bool thrown = why.kind == error_kind::task_failed
                && t.retry_exceptions.retries(why.exception_type);
  if (!system && !thrown)
    return false;
  if (t.max_retries >= 0 && t.attempt > static_cast<std::uint32_t>(t.max_retries))
    return false;
  ++t.attempt;
  t.last_failure = std::make_shared<const error_info>(why);
  auto key = leave_lease(t);
  enqueue(task_id);
  if (!key.empty())
    pump(key);
  return true;
}

std::string submitter::leave_lease(task_record& t) {
  std::string key;
  if (t.worker_id != 0) {
    if (auto lit = leases_.find(t.worker_id); lit != leases_.end()) {
      auto& l = lit->second;
      key = l.key;
      --l.in_flight;
      --shapes_[l.key].in_flight;
      if (l.in_flight == 0) {
        l.idle_since = clock::now();
        if (!tick_scheduled_) {
          tick_scheduled_ = true;
          io_.schedule_tick(cfg_.lease_idle_timeout);
        }
      }
    }
  }
  t.worker_id = 0;
  return key;
}

void submitter::finish(std::uint64_t task_id, const stored_value* value,
                       const error_info* error, const std::vector<stored_value>* extra) {
  auto it = tasks_.find(task_id);
  if (it != tasks_.end())
    finish_at(it, value, error, extra);
}

void submitter::finish_at(std::unordered_map<std::uint64_t, task_record>::iterator it,
                          const stored_value* value, const error_info* error,
                          const std::vector<stored_value>* extra) {
  auto task_id = it->first;
  auto t = std::move(it->second);
  tasks_.erase(it);
  auto worker_id = t.worker_id;
  auto key = leave_lease(t);
  if (value)
    keep_lineage(t, value, extra);
  if (t.creates_actor) {
    if (auto b = building_.find(worker_id); b != building_.end()) {
      std::erase_if(b->second, [&](const building& x) { return x.task_id == task_id; });
      if (b->second.empty())
        building_.erase(b);
    }
    io_.actor_created(t.actor_id, worker_id, t.restarts, value, error);
    // Kept to rebuild it from, while it may be rebuilt.
    if (t.max_restarts != 0 && (value || error->kind == error_kind::worker_crashed
                                || error->kind == error_kind::node_died))
      creations_.insert_or_assign(t.actor_id, t);
  }
  if (error && t.attempt > 1) {
    // Say that it ran more than once, and why it ran again.
    auto last = *error;
    last.message += " (on attempt " + std::to_string(t.attempt) + "; attempt "
                    + std::to_string(t.attempt - 1) + " failed with "
                    + (t.last_failure ? to_string(t.last_failure->kind) : "an error") + ")";
    finish_objects(t, value, &last, extra);
  } else {
    finish_objects(t, value, error, extra);
  }
  if (!key.empty())
    pump(key);
}

void submitter::finish_objects(const task_record& t, const stored_value* value,
                               const error_info* error,
                               const std::vector<stored_value>* extra) {
  // A tuple's elements are objects of their own: each gets its value, or
  // all fail with the call.
  for (std::size_t i = 0; i < t.extra_returns.size(); ++i) {
    if (value && extra && i < extra->size())
      table_.fulfill(t.extra_returns[i], (*extra)[i]);
    else if (error)
      table_.fail(t.extra_returns[i], *error);
    else
      table_.fail(t.extra_returns[i],
                  {error_kind::protocol, t.name, "",
                   "the worker sent fewer values than the call returns"});
  }
  if (value)
    table_.fulfill(t.return_id, *value);
  else
    table_.fail(t.return_id, *error);
  for (auto& id : t.extra_returns)
    on_object_changed(id);
  on_object_changed(t.return_id);
}

bool submitter::pipelinable(const function_entry* fn) const {
  auto it = stats_.find(fn);
  return it != stats_.end() && it->second.runs > 0
         && it->second.avg_exec_us < static_cast<double>(cfg_.pipeline_below.count());
}

void submitter::fail_task(std::uint64_t task_id, const error_info& error) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end())
    return;
  if (it->second.actor_id.valid() && !it->second.creates_actor) {
    auto& q = actors_[it->second.actor_id].queued;
    q.erase(std::remove(q.begin(), q.end(), task_id), q.end());
    auto actor = it->second.actor_id;
    finish(task_id, nullptr, &error);
    pump_actor(actor); // later calls no longer wait behind it
    return;
  }
  auto key = key_of(it->second, locality_of(it->second));
  if (auto sit = shapes_.find(key); sit != shapes_.end()) {
    auto& q = sit->second.queued;
    q.erase(std::remove(q.begin(), q.end(), task_id), q.end());
  }
  finish(task_id, nullptr, &error);
}

void submitter::on_worker_died(std::uint64_t worker_id, const std::string& reason,
                               error_kind kind) {
  auto lit = leases_.find(worker_id);
  if (lit == leases_.end()) {
    lose_building(worker_id, reason, kind);
    return;
  }
  auto key = lit->second.key;
  std::vector<std::uint64_t> lost;
  for (auto& [tid, t] : tasks_)
    if (t.worker_id == worker_id)
      lost.push_back(tid);
  std::sort(lost.begin(), lost.end());
  // The lease goes first so that `finish` does not count on it any more.
  auto& s = shapes_[key];
  s.in_flight -= std::min<std::uint32_t>(s.in_flight, lit->second.in_flight);
  s.leases.erase(std::remove(s.leases.begin(), s.leases.end(), worker_id),
                 s.leases.end());
  leases_.erase(lit);
  for (auto tid : lost) {
    auto& t = at_or_throw(tasks_, tid, "submitter_results.cpp:4");
    t.worker_id = 0;
    error_info e{kind, t.name, "", reason};
    if (!retry(tid, e))
      finish(tid, nullptr, &e);
  }
  pump(key);
}

void submitter::lose_building(std::uint64_t worker_id, const std::string& why,
                              error_kind kind) {
  auto it = building_.find(worker_id);
  if (it == building_.end())
    return;
  auto lost = std::move(it->second);
  building_.erase(it);
  for (auto& b : lost) {
    auto t = tasks_.find(b.task_id);
    if (t == tasks_.end())
      continue;
    // The control store rebuilds it while restarts are left (or settles it
    // dead): a crash in its constructor is a death like any other.
    error_info e{kind, t->second.name, "", why};
    finish(b.task_id, nullptr, &e);
  }
}

void submitter::on_peer_node_down(std::uint64_t node_id, const std::string& why) {
  dead_nodes_.insert(node_id);
  // Its leases first: the requests asked again below must not hand queued
  // tasks to a worker that is gone (that would spend a retry on a task that
  // never ran).
  std::vector<std::uint64_t> lost;
  for (auto& [wid, l] : leases_)
    if (l.node_id == node_id)
      lost.push_back(wid);
  for (auto& [wid, b] : building_)
    if (!b.empty() && b.front().node_id == node_id)
      lost.push_back(wid);
  for (auto wid : lost)
    on_worker_died(wid, why, error_kind::node_died);
  // A lease request may have been passed on to that node, which will never
  // answer it: every pending request is asked again (a late grant of an old
  // one is returned).
  std::vector<std::string> asking;
  for (auto& [key, s] : shapes_) {
    if (s.pending_requests.empty())
      continue;
    for (auto& [rid, name] : s.pending_requests)
      io_.cancel_lease(rid);
    s.pending_requests.clear();
    asking.push_back(key);
  }
  for (auto& key : asking)
    pump(key);
}

void submitter::on_node_down(const error_info& why) {
  node_down_ = why;
  std::vector<std::uint64_t> all;
  for (auto& [tid, t] : tasks_)
    all.push_back(tid);
  std::sort(all.begin(), all.end());
  leases_.clear();
  building_.clear();
  shapes_.clear();
  for (auto tid : all) {
    auto it = tasks_.find(tid);
    if (it == tasks_.end())
      continue;
    it->second.worker_id = 0;
    auto e = why;
    e.task_name = it->second.name;
    finish(tid, nullptr, &e);
  }
}

std::vector<task_row> submitter::task_rows(std::size_t limit) const {
  std::vector<task_row> out;
  for (auto& [id, t] : tasks_) {
    if (out.size() == limit)
      break;
    const char* state = t.cancelled         ? "cancelling"
                        : t.unresolved > 0  ? "waiting"
                        : t.worker_id != 0  ? "running"
                                            : "queued";
    task_row row{id, t.name, state, node_of_worker(t.worker_id), t.actor_id.valid()};
    row.attempt = t.attempt;
    if (t.attempt > 1 && t.last_failure)
      row.last_failure = std::string{to_string(t.last_failure->kind)} + ": "
                         + t.last_failure->message;
    out.push_back(std::move(row));
  }
  return out;
}

std::string submitter::describe() const {
  std::ostringstream out;
  out << "tasks=" << tasks_.size() << " leases=" << leases_.size()
      << " shapes=" << shapes_.size();
  return out.str();
}

} // namespace troupe::detail
