#pragma once

// The control store as an actor: the state both roles share, the routing
// both do, and each role's behaviour (head_control_store.cpp,
// member_control_store.cpp). Internal to actors/.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "actors/actor_rebuilder.hpp"
#include "actors/control_store.hpp"
#include "actors/head_records.hpp"

namespace troupe {

struct cs_actor_state {
  control_store_state st;
  control_store_actor head_cs; ///< members: the head's control store
  /// Head: actor instances and members' control stores it monitors.
  std::map<caf::actor_addr, object_id> actor_of_instance;
  std::map<caf::actor_addr, std::uint64_t> node_of_cs;
  /// Members: processes of this node (core actors and actor instances)
  /// watched for the head, which CAF tells nothing of a process two hops away.
  std::map<caf::actor_addr, caf::actor> watched;
  /// The other nodes' control stores, and this node's processes: each is
  /// introduced to each (see the routing note in control_store_actor.hpp).
  std::map<std::uint64_t, control_store_actor> peers;
  std::map<caf::actor_addr, core_actor> local_cores;
  std::chrono::seconds grace{60}; ///< how long a head's absence is waited out
  std::string endpoints = "{}";   ///< this node's HTTP servers (metrics, dashboard)

  /// Head: builds actors whose creator is gone (spawned when first needed).
  actor_rebuilder_actor rebuilder;

  // Head: persistence (null: none) and what a restart has yet to see again.
  std::shared_ptr<head_records> records;
  bool flush_due = false;
  std::chrono::steady_clock::time_point restored_until{}; ///< end of the grace period
  std::set<object_id> unconfirmed;  ///< restored living actors not announced again
  std::set<object_id> orphans;      ///< restored actors whose worker died with the old head
  std::set<std::uint64_t> unconfirmed_nodes, unconfirmed_jobs;

  // Member: the head's absence, and what is told to a head that comes back.
  struct head_request {
    std::function<void()> send;              ///< (again) to the head there is
    std::function<void(caf::error)> fail;    ///< after the grace period
  };
  std::string head_host;
  std::uint16_t head_port = 0;
  bool head_absent = false;
  bool connecting = false;
  std::chrono::steady_clock::time_point head_lost_at{};
  std::vector<caf::message> backlog;       ///< for the head, kept while it is gone
  std::map<std::uint64_t, head_request> head_requests; ///< unanswered
  std::uint64_t next_head_request = 0;
  std::map<caf::actor_addr, std::pair<owner_entry, std::uint64_t>> owners;
  std::map<caf::actor_addr, job_spec> jobs;     ///< with their job ids
  struct instance_up {
    object_id id;
    executor_actor instance;
    std::uint64_t worker_id;
    endpoint address;
    core_actor core;
  };
  std::map<caf::actor_addr, instance_up> instances;
  static inline const char* name = "troupe.control_store";

  /// Returns whether this is the head's control store.
  bool head() const noexcept { return !head_cs; }
};

using cs_ptr = control_store_actor::stateful_pointer<cs_actor_state>;

/// The head's behaviour: it holds the cluster's state.
control_store_actor::behavior_type head_behavior(cs_ptr self);

/// A member's behaviour: it answers for its node and passes the rest on.
control_store_actor::behavior_type member_behavior(cs_ptr self);

/// Stops the node's scheduler and store manager (and, on the head, the
/// cluster scheduler), then the control store itself.
void stop_node(cs_ptr self);

/// Learns the cluster's nodes: new peers meet this node's processes.
void set_peers(cs_ptr self, const std::vector<node_info>& nodes);

/// A process registered: one of this node's is introduced to every peer.
void note_process(cs_ptr self, const core_actor& core, std::uint64_t node_id);

/// Returns this node's log files as JSON (node_logs.hpp).
std::string list_node_logs(cs_ptr self);

/// Returns this node's drivers and workers (their core actors).
owner_list node_processes(cs_ptr self);

/// Returns bytes of one of this node's log files, or an error naming it.
caf::result<std::string> read_node_log(const std::string& file, std::uint64_t offset,
                                       std::uint64_t max);

/// A process of this node is down: it is introduced no more.
void forget_process(cs_ptr self, const caf::actor_addr& addr);

// Head persistence (head_persistence.cpp).

/// Loads what the head's records hold, if any: the cluster as it was, its
/// nodes, drivers and actors waiting to be heard of again.
void restore_head(cs_ptr self);

/// Queues what changed for the records; writes it now (`now`: a reply
/// depends on it; returns false when that failed, and logs why) or soon.
bool save(cs_ptr self, bool now = false);

/// The head's tick: writes what is queued, and at the end of the grace
/// period gives up what did not come back.
void head_tick(cs_ptr self);

/// A process registered with the head: the restored actors it created whose
/// worker died with the old head are rebuilt now.
void owner_back(cs_ptr self, std::uint64_t owner_id);

/// Node `node_id` told the head all it knows after a restart: its restored
/// actors not heard of died meanwhile.
void node_resumed(cs_ptr self, std::uint64_t node_id);

/// The head's reaction to an actor's death (head_control_store.cpp).
void head_actor_died(cs_ptr self, const object_id& id, const std::string& why,
                     bool restartable);

/// A member stopped answering (head_control_store.cpp).
void head_node_gone(cs_ptr self, std::uint64_t node_id, const std::string& reason);

} // namespace troupe
