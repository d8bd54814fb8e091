// Lineage reconstruction (submitter.hpp): the owner keeps the task that made
// each of its stored objects while the object is known; when the object's
// only copy is lost with its node, the task runs again under the same
// object ids, and so, recursively, do the tasks whose lost results it needs.
#include "lib/core/submitter.hpp"

#include <algorithm>

namespace troupe::detail {

void submitter::keep_lineage(const task_record& t, const stored_value* value,
                             const std::vector<stored_value>* extra) {
  // Plain tasks only: an actor call's result depends on the actor's state, a
  // generator's items on its consumer. Inline values live in this process.
  if (t.actor_id.valid() || (t.fn && t.fn->streams))
    return;
  std::vector<object_id> stored;
  if (value && value->in_store)
    stored.push_back(t.return_id);
  if (extra)
    for (std::size_t i = 0; i < extra->size() && i < t.extra_returns.size(); ++i)
      if ((*extra)[i].in_store)
        stored.push_back(t.extra_returns[i]);
  if (stored.empty())
    return;
  if (lineage_.size() >= prune_lineage_at_) {
    // Objects no longer known here (every ref gone) need no lineage.
    std::erase_if(lineage_, [&](auto& kv) {
      return table_.peek(kv.first) == object_table::status::unknown;
    });
    prune_lineage_at_ = std::max<std::size_t>(1024, 2 * lineage_.size());
  }
  auto rec = std::make_shared<task_record>(t);
  rec->worker_id = 0;
  rec->cancelled = false;
  for (auto& id : stored)
    lineage_.insert_or_assign(id, rec);
}

std::string submitter::rebuild(const object_id& id) {
  auto it = lineage_.find(id);
  if (it == lineage_.end())
    return "it was made by put or by an actor call, so nothing can rebuild it";
  auto rec = it->second;
  bool under_way = std::any_of(tasks_.begin(), tasks_.end(), [&](auto& kv) {
    return kv.second.return_id == rec->return_id;
  });
  if (!under_way && rec->max_retries >= 0
      && rec->attempt > static_cast<std::uint32_t>(rec->max_retries))
    return "the task that made it, '" + rec->name.str() + "', ran " + std::to_string(rec->attempt)
           + " times: its max_retries are used up";
  if (!table_.reset_lost(id) && table_.peek(id) != object_table::status::pending)
    return "it is not lost";
  if (under_way)
    return {}; // its result fulfils this object too
  auto again = *rec;
  again.task_id = next_rebuild_task_++;
  again.attempt = rec->attempt + 1;
  again.last_failure = std::make_shared<const error_info>(error_info{
    error_kind::object_lost, rec->name, "", "its result " + id.to_string() + " was lost"});
  again.unresolved = 0;
  submit(std::move(again));
  return {};
}

bool submitter::rebuild_lost_args(std::uint64_t tid, const object_id& named) {
  auto& t = at_or_throw(tasks_, tid, "submitter_lineage.cpp:1");
  std::vector<object_id> lost;
  for (std::size_t i = 0; i < t.args.size() && i < t.resolved.size(); ++i) {
    auto& v = t.resolved[i].value;
    if (!t.args[i].ref || !v.in_store)
      continue;
    // Named by the worker (its pull may fail before this process hears that
    // the node died), or on a node known dead.
    auto arg = ref_id(*t.args[i].ref);
    if (arg == named || dead_nodes_.count(v.node))
      lost.push_back(arg);
  }
  std::vector<object_id> waiting;
  for (auto& arg : lost) {
    if (arg.owner == table_.owner_id()) {
      if (!rebuild(arg).empty())
        return false; // it cannot be rebuilt: the task fails with its loss
    } else if (table_.reset_lost(arg)) {
      io_.rebuild_borrowed(arg); // its owner rebuilds it, or says why not
    }
    waiting.push_back(arg);
  }
  if (waiting.empty())
    return false;
  // The task waits for its arguments' new values, then runs again.
  auto key = leave_lease(at_or_throw(tasks_, tid, "submitter_lineage.cpp:2"));
  auto& task = at_or_throw(tasks_, tid, "submitter_lineage.cpp:3");
  for (auto& arg : waiting) {
    if (table_.peek(arg) != object_table::status::pending)
      continue; // rebuilt already
    ++task.unresolved;
    dependents_[arg].push_back(tid);
  }
  if (task.unresolved == 0)
    enqueue(tid);
  if (!key.empty())
    pump(key);
  return true;
}

} // namespace troupe::detail
