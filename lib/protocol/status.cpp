#include "lib/protocol/status.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

namespace troupe {

namespace {

using json = nlohmann::ordered_json;

/// Returns resources as an object, whole amounts as integers: `{"CPU":2}`
/// rather than `{"CPU":2.0}`.
json amounts(const resource_map& rs) {
  auto out = json::object();
  for (auto& [name, x] : rs) {
    if (std::trunc(x) == x && std::abs(x) < 1e15)
      out[name] = static_cast<std::int64_t>(x);
    else
      out[name] = x;
  }
  return out;
}

json amounts(const std::vector<resource_map>& list) {
  auto out = json::array();
  for (auto& rs : list)
    out.push_back(amounts(rs));
  return out;
}

/// Reads member `key` into `x` if there is one; leaves `x` as it is when the
/// key is missing or null.
template <class T>
void read(const json& j, const char* key, T& x) {
  if (auto it = j.find(key); it != j.end() && !it->is_null())
    it->get_to(x);
}

} // namespace

void to_json(json& j, const node_row& x) {
  j = {{"id", x.id},
       {"address", x.address},
       {"alive", x.alive},
       {"total", amounts(x.total)}};
}

void from_json(const json& j, node_row& x) {
  read(j, "id", x.id);
  read(j, "address", x.address);
  read(j, "alive", x.alive);
  read(j, "total", x.total);
}

void to_json(json& j, const job_row& x) {
  j = {{"id", x.id}, {"pid", x.pid}, {"alive", x.alive}};
}

void from_json(const json& j, job_row& x) {
  read(j, "id", x.id);
  read(j, "pid", x.pid);
  read(j, "alive", x.alive);
}

void to_json(json& j, const actor_row& x) {
  j = {{"id", x.id},
       {"class", x.class_name},
       {"name", x.name},
       {"namespace", x.name_space},
       {"state", x.state},
       {"node", x.node},
       {"detached", x.detached},
       {"death", x.death},
       {"worker", x.worker},
       {"restarts", x.restarts}};
}

void from_json(const json& j, actor_row& x) {
  read(j, "id", x.id);
  read(j, "class", x.class_name);
  read(j, "name", x.name);
  read(j, "namespace", x.name_space);
  read(j, "state", x.state);
  read(j, "node", x.node);
  read(j, "detached", x.detached);
  read(j, "death", x.death);
  read(j, "worker", x.worker);
  read(j, "restarts", x.restarts);
}

void to_json(json& j, const control_store_status& x) {
  j = {
      {"node", {{"id", x.node.id}, {"address", x.node.address}, {"alive", x.node.alive}}},
      {"nodes", x.nodes},
      {"jobs", x.jobs},
      {"actors", x.actors}};
}

void from_json(const json& j, control_store_status& x) {
  read(j, "node", x.node);
  read(j, "nodes", x.nodes);
  read(j, "jobs", x.jobs);
  read(j, "actors", x.actors);
}

void to_json(json& j, const node_load& x) {
  j = {{"id", x.id},
       {"alive", x.alive},
       {"total", amounts(x.total)},
       {"available", amounts(x.available)},
       {"queued", x.queued},
       {"report_age", x.report_age}};
}

void from_json(const json& j, node_load& x) {
  read(j, "id", x.id);
  read(j, "alive", x.alive);
  read(j, "total", x.total);
  read(j, "available", x.available);
  read(j, "queued", x.queued);
  read(j, "report_age", x.report_age);
}

void to_json(json& j, const placement_group_row& x) {
  j = {{"id", x.id},
       {"state", x.state},
       {"bundles", amounts(x.bundles)},
       {"nodes", x.nodes},
       {"why", x.why}};
}

void from_json(const json& j, placement_group_row& x) {
  read(j, "id", x.id);
  read(j, "state", x.state);
  read(j, "bundles", x.bundles);
  read(j, "nodes", x.nodes);
  read(j, "why", x.why);
}

void to_json(json& j, const cluster_scheduler_status& x) {
  j = {{"nodes", x.nodes},
       {"placement_groups", x.placement_groups},
       {"infeasible", x.infeasible}};
}

void from_json(const json& j, cluster_scheduler_status& x) {
  read(j, "nodes", x.nodes);
  read(j, "placement_groups", x.placement_groups);
  read(j, "infeasible", x.infeasible);
}

void to_json(json& j, const worker_counts& x) {
  j = {{"idle", x.idle},
       {"leased", x.leased},
       {"starting", x.starting},
       {"blocked", x.blocked}};
}

void from_json(const json& j, worker_counts& x) {
  read(j, "idle", x.idle);
  read(j, "leased", x.leased);
  read(j, "starting", x.starting);
  read(j, "blocked", x.blocked);
}

void to_json(json& j, const local_scheduler_status& x) {
  j = {{"total", amounts(x.total)},
       {"available", amounts(x.available)},
       {"workers", x.workers},
       {"pending_demands", amounts(x.pending_demands)}};
}

void from_json(const json& j, local_scheduler_status& x) {
  read(j, "total", x.total);
  read(j, "available", x.available);
  read(j, "workers", x.workers);
  read(j, "pending_demands", x.pending_demands);
}

void to_json(json& j, const store_status& x) {
  j = {{"segment", x.segment}, {"capacity", x.capacity},         {"free", x.free_bytes},
       {"objects", x.objects}, {"bytes_in_use", x.bytes_in_use}, {"copies", x.copies},
       {"processes", x.processes}, {"recoveries", x.recoveries},
       {"spilled_objects", x.spilled_objects}, {"spilled_bytes", x.spilled_bytes},
       {"fallback_objects", x.fallback_objects}, {"fallback_bytes", x.fallback_bytes},
       {"spill_dir", x.spill_dir}, {"job_limit", x.job_limit}};
  // JSON keys are strings: the job ids as text.
  auto& jobs = j["jobs"] = json::object();
  for (auto& [job, bytes] : x.jobs)
    jobs[std::to_string(job)] = bytes;
  j["pulls"] = x.pulls;
  j["pull_bytes"] = x.pull_bytes;
  j["pull_failures"] = x.pull_failures;
}

void from_json(const json& j, store_status& x) {
  read(j, "segment", x.segment);
  read(j, "capacity", x.capacity);
  read(j, "free", x.free_bytes);
  read(j, "objects", x.objects);
  read(j, "bytes_in_use", x.bytes_in_use);
  read(j, "copies", x.copies);
  read(j, "processes", x.processes);
  read(j, "recoveries", x.recoveries);
  read(j, "spilled_objects", x.spilled_objects);
  read(j, "spilled_bytes", x.spilled_bytes);
  read(j, "fallback_objects", x.fallback_objects);
  read(j, "fallback_bytes", x.fallback_bytes);
  read(j, "spill_dir", x.spill_dir);
  read(j, "job_limit", x.job_limit);
  if (auto it = j.find("jobs"); it != j.end() && it->is_object())
    for (auto& [job, bytes] : it->items())
      x.jobs[std::stoull(job)] = bytes.get<std::uint64_t>();
  read(j, "pulls", x.pulls);
  read(j, "pull_bytes", x.pull_bytes);
  read(j, "pull_failures", x.pull_failures);
}

void to_json(json& j, const task_row& x) {
  j = {{"id", x.id},
       {"name", x.name},
       {"state", x.state},
       {"node", x.node},
       {"actor", x.actor},
       {"attempt", x.attempt},
       {"last_failure", x.last_failure}};
}

void from_json(const json& j, task_row& x) {
  read(j, "id", x.id);
  read(j, "name", x.name);
  read(j, "state", x.state);
  read(j, "node", x.node);
  read(j, "actor", x.actor);
  read(j, "attempt", x.attempt);
  read(j, "last_failure", x.last_failure);
}

void to_json(json& j, const object_row& x) {
  j = {{"id", x.id},
       {"owned", x.owned},
       {"state", x.state},
       {"size", x.size},
       {"node", x.node},
       {"where", x.where},
       {"file", x.file}};
}

void from_json(const json& j, object_row& x) {
  read(j, "id", x.id);
  read(j, "owned", x.owned);
  read(j, "state", x.state);
  read(j, "size", x.size);
  read(j, "node", x.node);
  read(j, "where", x.where);
  read(j, "file", x.file);
}

void to_json(json& j, const process_status& x) {
  j = {{"owner", x.owner},
       {"pid", x.pid},
       {"node", x.node},
       {"role", x.role},
       {"address", x.address},
       {"direct_peers", x.direct_peers},
       {"tasks", x.tasks},
       {"objects", x.objects}};
}

void from_json(const json& j, process_status& x) {
  read(j, "owner", x.owner);
  read(j, "pid", x.pid);
  read(j, "node", x.node);
  read(j, "role", x.role);
  read(j, "address", x.address);
  read(j, "direct_peers", x.direct_peers);
  read(j, "tasks", x.tasks);
  read(j, "objects", x.objects);
}

template <class T>
T from_json_text(std::string_view text) {
  return json::parse(text).get<T>();
}

#define TROUPE_STATUS_TEXT(type)                                                         \
  std::string to_json_text(const type& doc) {                                            \
    return json(doc).dump(-1, ' ', false, json::error_handler_t::replace);               \
  }                                                                                      \
  template type from_json_text<type>(std::string_view text);

TROUPE_STATUS_TEXT(node_row)
TROUPE_STATUS_TEXT(job_row)
TROUPE_STATUS_TEXT(actor_row)
TROUPE_STATUS_TEXT(control_store_status)
TROUPE_STATUS_TEXT(node_load)
TROUPE_STATUS_TEXT(placement_group_row)
TROUPE_STATUS_TEXT(cluster_scheduler_status)
TROUPE_STATUS_TEXT(worker_counts)
TROUPE_STATUS_TEXT(local_scheduler_status)
TROUPE_STATUS_TEXT(store_status)
TROUPE_STATUS_TEXT(task_row)
TROUPE_STATUS_TEXT(object_row)
TROUPE_STATUS_TEXT(process_status)

#undef TROUPE_STATUS_TEXT

} // namespace troupe
