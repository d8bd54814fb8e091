#pragma once

// The cluster as its system actors and processes describe themselves (the
// documents of lib/protocol/status.hpp), gathered from any node: what
// `troupe status` and `troupe list` print and the dashboard shows.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "lib/protocol/messages.hpp"
#include "lib/protocol/status.hpp"

namespace troupe {

/// One node as status shows it: its address and its parts' descriptions.
struct node_status {
  node_info info;
  /// The local scheduler's and the store's reports; none when the node did
  /// not answer (a dead node).
  std::optional<local_scheduler_status> scheduler;
  std::optional<store_status> store;
};

/// The cluster's self-description, as its system actors and processes
/// reported it.
struct cluster_status {
  std::string address; ///< where we reached it
  bool insecure = false;  ///< reached without TLS: the cluster runs --insecure
  std::string cluster_id; ///< from the token, when TLS is on
  control_store_status control;     ///< the head control store's: nodes, jobs, actors
  cluster_scheduler_status cluster; ///< resources, groups, infeasible demands
  std::vector<node_status> nodes;
  std::vector<process_status> processes; ///< each owner's tasks and objects
  std::string dashboard; ///< `HOST:PORT` of the head's dashboard ("": none)
};

/// Asks the cluster of control store `cs` (any node's) to describe itself,
/// and with `with_processes` every driver and worker its tasks and objects.
/// Returns an error message (also when a reply is not a status document)
/// or an empty string; a dead node, or a process that ended meanwhile, is
/// no failure.
std::string query_cluster(caf::actor_system& sys, const control_store_actor& cs,
                          cluster_status& out, bool with_processes);

/// Returns a node as `{id, address, alive, scheduler}`, and with
/// `with_store` also `store`; a report the node did not send is null.
nlohmann::ordered_json node_json(const node_status& n, bool with_store);

} // namespace troupe
