#pragma once

// The documents the system actors and every process describe themselves with
// (`status` and `stats` replies, carried as JSON text): `troupe status` and
// `troupe list` parse them back into the same structs. Keys are written in
// the order of the members; resource amounts that are whole numbers are
// written as integers (`{"CPU":2,"GPU":0.5}`). Readers take missing keys as
// their defaults.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "lib/protocol/fwd.hpp"

namespace troupe {

/// A node as the control store knows it: `{id, address, alive, total}`.
struct node_row {
  std::uint64_t id = 0;
  std::string address; ///< `host:port`
  bool alive = true;
  resource_map total;

  bool operator==(const node_row&) const = default;
};

/// A driver that connected: `{id, pid, alive}`.
struct job_row {
  std::uint64_t id = 0;
  std::int32_t pid = 0;
  bool alive = true;

  bool operator==(const job_row&) const = default;
};

/// An actor: `{id, class, name, namespace, state, node, detached, death,
/// worker, restarts}`.
struct actor_row {
  std::string id;
  std::string class_name;
  std::string name;
  std::string name_space;
  std::string state; ///< pending, alive, dying or dead
  std::uint64_t node = 0;
  bool detached = false;
  std::string death; ///< why it died, if it did
  std::uint64_t worker = 0;   ///< its worker's id (0: none yet)
  std::uint32_t restarts = 0; ///< how often it was rebuilt

  bool operator==(const actor_row&) const = default;
};

/// The control store's reply to `status`: `{node: {id, address, alive},
/// nodes, jobs, actors}`, `node` being the node that answers.
struct control_store_status {
  node_row node; ///< written without `total`
  std::vector<node_row> nodes;
  std::vector<job_row> jobs;
  std::vector<actor_row> actors;

  bool operator==(const control_store_status&) const = default;
};

/// A node's load as the cluster scheduler sees it:
/// `{id, alive, total, available, queued, report_age}`.
struct node_load {
  std::uint64_t id = 0;
  bool alive = true;
  resource_map total;
  resource_map available;
  std::uint32_t queued = 0;
  /// Seconds since its last report (its heartbeat; -1: none yet).
  double report_age = -1;

  bool operator==(const node_load&) const = default;
};

/// `{id, state, bundles, nodes, why}`.
struct placement_group_row {
  std::uint64_t id = 0;
  std::string state; ///< pending, placed, infeasible or removed
  std::vector<resource_map> bundles;
  std::vector<std::uint64_t> nodes; ///< node of each bundle, once placed
  std::string why;                  ///< when infeasible

  bool operator==(const placement_group_row&) const = default;
};

/// The cluster scheduler's reply to `status`:
/// `{nodes, placement_groups, infeasible}`.
struct cluster_scheduler_status {
  std::vector<node_load> nodes;
  std::vector<placement_group_row> placement_groups;
  std::vector<std::string> infeasible; ///< demands no node can serve, why

  bool operator==(const cluster_scheduler_status&) const = default;
};

/// `{idle, leased, starting, blocked}`.
struct worker_counts {
  std::uint64_t idle = 0;
  std::uint64_t leased = 0;
  std::uint64_t starting = 0;
  std::uint64_t blocked = 0;

  bool operator==(const worker_counts&) const = default;
};

/// A local scheduler's reply to `status`:
/// `{total, available, workers, pending_demands}`.
struct local_scheduler_status {
  resource_map total;
  resource_map available;
  worker_counts workers;
  std::vector<resource_map> pending_demands;

  bool operator==(const local_scheduler_status&) const = default;
};

/// A store manager's reply to `stats`: `{segment, capacity, free, objects,
/// bytes_in_use, copies, processes, recoveries, ..., jobs, pulls,
/// pull_bytes, pull_failures}`.
struct store_status {
  std::string segment;
  std::uint64_t capacity = 0;
  std::uint64_t free_bytes = 0;
  std::uint64_t objects = 0;
  std::uint64_t bytes_in_use = 0;
  std::uint64_t copies = 0; ///< objects pulled from other nodes, cached
  std::uint64_t processes = 0;  ///< processes that map the store
  std::uint64_t recoveries = 0; ///< times its lock was taken from a dead holder
  std::uint64_t spilled_objects = 0; ///< objects whose data is in spill files only
  std::uint64_t spilled_bytes = 0;
  std::uint64_t fallback_objects = 0; ///< objects larger than the store, on disk
  std::uint64_t fallback_bytes = 0;
  std::string spill_dir; ///< where those files are ("": spilling is off)
  std::uint64_t job_limit = 0; ///< store bytes one job may take (0: no limit)
  /// Store bytes each job's objects take, by job id (jobs holding none are
  /// left out).
  std::map<std::uint64_t, std::uint64_t> jobs;
  std::uint64_t pulls = 0;         ///< objects pulled from other nodes, since start
  std::uint64_t pull_bytes = 0;    ///< their bytes
  std::uint64_t pull_failures = 0; ///< pulls that failed

  bool operator==(const store_status&) const = default;
};

/// A task not done yet: `{id, name, state, node, actor}`.
struct task_row {
  std::uint64_t id = 0;
  std::string name;
  std::string state; ///< waiting, queued or running
  std::uint64_t node = 0;
  bool actor = false;
  std::uint32_t attempt = 1;  ///< the run under way (retries: 2, 3, ...)
  std::string last_failure;   ///< why the previous attempt failed, if any

  bool operator==(const task_row&) const = default;
};

/// An object: `{id, owned, state, size, node}`.
struct object_row {
  std::string id;
  bool owned = false;
  std::string state; ///< pending, ready or failed
  std::uint64_t size = 0;
  std::uint64_t node = 0; ///< 0 unless in a store
  std::string where; ///< in its owner's node store: memory, spilled or disk; else ""
  std::string file;  ///< spilled or on disk: its file

  bool operator==(const object_row&) const = default;
};

/// A driver's or worker's core actor's reply to `status`:
/// `{owner, pid, node, role, tasks, objects}`.
struct process_status {
  std::uint64_t owner = 0;
  std::int32_t pid = 0;
  std::uint64_t node = 0;
  std::string role; ///< driver or worker
  std::string address;          ///< where it takes direct connections ("" if nowhere)
  std::uint64_t direct_peers = 0; ///< direct connections it opened and has up
  std::vector<task_row> tasks;
  std::vector<object_row> objects;

  bool operator==(const process_status&) const = default;
};

// Each document converts to and from `nlohmann::ordered_json` (keys in the
// order of the members), and to compact JSON text (no spaces; bytes that are
// not UTF-8 become U+FFFD).
#define TROUPE_STATUS_JSON(type)                                                         \
  void to_json(nlohmann::ordered_json& j, const type& x);                                \
  void from_json(const nlohmann::ordered_json& j, type& x);                              \
  std::string to_json_text(const type& doc);

TROUPE_STATUS_JSON(node_row)
TROUPE_STATUS_JSON(job_row)
TROUPE_STATUS_JSON(actor_row)
TROUPE_STATUS_JSON(control_store_status)
TROUPE_STATUS_JSON(node_load)
TROUPE_STATUS_JSON(placement_group_row)
TROUPE_STATUS_JSON(cluster_scheduler_status)
TROUPE_STATUS_JSON(worker_counts)
TROUPE_STATUS_JSON(local_scheduler_status)
TROUPE_STATUS_JSON(store_status)
TROUPE_STATUS_JSON(task_row)
TROUPE_STATUS_JSON(object_row)
TROUPE_STATUS_JSON(process_status)

#undef TROUPE_STATUS_JSON

/// Parses a status document of type `T` (one of the structs above); throws
/// `nlohmann::json::exception` when `text` is not JSON or a value has the
/// wrong type.
template <class T>
T from_json_text(std::string_view text);

} // namespace troupe
