// The submitter's arguments: a task's refs resolved to values as they
// become ready, and the node that holds most of its stored bytes
// (submitter.hpp).
#include "lib/core/submitter.hpp"

#include <algorithm>
#include <map>

namespace troupe::detail {

stored_value& submitter::resolved_slot(task_record& t, std::size_t i) {
  if (t.resolved.size() != t.args.size())
    t.resolved.resize(t.args.size()); // on the first ready argument
  return t.resolved[i].value;
}

void submitter::resolve(task_record& t) {
  if (resolve_args(t))
    enqueue(t.task_id);
}

bool submitter::resolve_args(task_record& t) {
  auto tid = t.task_id;
  t.unresolved = 0;
  for (std::size_t i = 0; i < t.args.size(); ++i) {
    auto& arg = t.args[i];
    if (!arg.ref) {
      auto& out = resolved_slot(t, i);
      if (out.inline_data)
        continue; // resolved before: an actor's creation, run again to rebuild it
      out.enc = arg.value.enc;
      out.type_hash = arg.value.type_hash;
      out.type_name = arg.value.type_name;
      out.inline_data
        = std::make_shared<const std::vector<char>>(std::move(arg.value.buffer));
      continue;
    }
    auto id = ref_id(*arg.ref);
    error_info err;
    stored_value ready;
    switch (table_.peek(id, &ready, &err)) {
      case object_table::status::ready:
        resolved_slot(t, i) = std::move(ready);
        break;
      case object_table::status::failed:
        fail_task(tid, err);
        return false;
      case object_table::status::unknown:
        fail_task(tid, {error_kind::object_lost, t.name, "",
                        "argument object " + id.to_string() + " is gone"});
        return false;
      case object_table::status::pending: {
        ++t.unresolved;
        dependents_[id].push_back(tid);
        caf::actor owner;
        if (table_.claim_fetch(id, &owner))
          io_.fetch(id, owner);
        break;
      }
    }
  }
  return t.unresolved == 0;
}

void submitter::on_object_changed(const object_id& id) {
  auto dit = dependents_.find(id);
  if (dit == dependents_.end())
    return;
  auto waiting = std::move(dit->second);
  dependents_.erase(dit);
  std::sort(waiting.begin(), waiting.end());
  waiting.erase(std::unique(waiting.begin(), waiting.end()), waiting.end());
  for (auto tid : waiting) {
    auto it = tasks_.find(tid);
    if (it == tasks_.end())
      continue;
    auto& t = it->second;
    bool failed = false;
    for (std::size_t i = 0; i < t.args.size(); ++i) {
      if (!t.args[i].ref || ref_id(*t.args[i].ref) != id)
        continue;
      error_info err;
      stored_value ready;
      auto st = table_.peek(id, &ready, &err);
      if (st == object_table::status::ready) {
        resolved_slot(t, i) = std::move(ready);
        --t.unresolved;
      } else if (st != object_table::status::pending) {
        failed = true; // `t` is gone after fail_task: leave the loop first
        fail_task(tid, err);
        break;
      }
    }
    if (!failed && t.unresolved == 0)
      enqueue(tid);
  }
}

std::uint64_t submitter::locality_of(const task_record& t) {
  std::map<std::uint64_t, std::uint64_t> bytes;
  for (auto& r : t.resolved)
    if (r.value.in_store && r.value.node != 0)
      bytes[r.value.node] += r.value.size;
  std::uint64_t best = 0, most = 0;
  for (auto& [node, n] : bytes)
    if (n > most)
      best = node, most = n;
  return best;
}

} // namespace troupe::detail
