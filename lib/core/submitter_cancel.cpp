// The submitter's cancels (troupe::cancel): a task or call that has not
// started is dropped; one that runs is told (cooperative) or its worker is
// killed (force); with `recursive`, the tasks it submitted are cancelled
// too (submitter.hpp).
#include "lib/core/submitter.hpp"

#include <algorithm>

namespace troupe::detail {

namespace {

/// Removes `id` from `q`; returns whether it was there.
template <class Queue>
bool take_out(Queue& q, std::uint64_t id) {
  auto it = std::find(q.begin(), q.end(), id);
  if (it == q.end())
    return false;
  q.erase(it);
  return true;
}

} // namespace

std::string submitter::cancel(const object_id& ref, bool force, bool recursive) {
  auto it = std::find_if(tasks_.begin(), tasks_.end(), [&](auto& kv) {
    auto& t = kv.second;
    return t.return_id == ref
           || std::find(t.extra_returns.begin(), t.extra_returns.end(), ref)
                != t.extra_returns.end();
  });
  if (it == tasks_.end())
    return {}; // done already, or not a task of this process: nothing to do (as Ray)
  auto& t = it->second;
  if (t.creates_actor)
    return "the ref is an actor's creation: kill the actor instead";
  if (t.actor_id.valid() && force)
    return "a forced cancel kills the worker, which hosts the actor: cancel the call "
           "without force, or kill the actor";
  cancel_task(it->first, force, recursive);
  return {};
}

void submitter::cancel_task(std::uint64_t tid, bool force, bool recursive) {
  auto& t = at_or_throw(tasks_, tid, "submitter_cancel.cpp:1");
  if (t.cancelled)
    return;
  t.cancelled = true;
  error_info why{error_kind::task_cancelled, t.name, "", "cancelled by troupe::cancel"};
  if (t.actor_id.valid()) {
    auto id = t.actor_id;
    auto& a = actors_[id];
    if (take_out(a.queued, tid) || take_out(a.outbox, tid)) {
      finish(tid, nullptr, &why); // never left this process
      pump_actor(id);
      return;
    }
    // Sent: the instance skips it if it has not started it, or its method
    // sees is_cancelled(); the call ends when the instance answers.
    if (a.worker_core)
      io_.cancel_remote(a.worker_core, tid, recursive, false);
    finish_objects(t, nullptr, &why, nullptr);
    return;
  }
  if (t.worker_id == 0) {
    // Waiting for arguments or for a worker: a lease asked for it alone is
    // withdrawn.
    auto key = t.unresolved == 0 ? key_of(t, locality_of(t)) : std::string{};
    fail_task(tid, why);
    if (auto s = shapes_.find(key); s != shapes_.end() && s->second.queued.empty())
      pump(key);
    return;
  }
  auto lit = leases_.find(t.worker_id);
  if (lit != leases_.end()) {
    // Its children first (best effort: the kill comes by way of its node).
    if (lit->second.core && (recursive || !force))
      io_.cancel_remote(lit->second.core, tid, recursive, force);
    if (force)
      io_.kill_worker(t.worker_id, lit->second.scheduler);
  }
  finish_objects(t, nullptr, &why, nullptr);
}

void submitter::cancel_children(const task_key& parent, bool force) {
  std::vector<std::uint64_t> children;
  for (auto& [tid, t] : tasks_)
    if (t.parent == parent)
      children.push_back(tid);
  std::sort(children.begin(), children.end());
  for (auto tid : children)
    if (tasks_.count(tid))
      cancel_task(tid, force && !at_or_throw(tasks_, tid, "submitter_cancel.cpp:2").actor_id.valid(), true);
}

} // namespace troupe::detail
