#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/actor_directory.hpp"
#include "actors/node_directory.hpp"
#include "actors/object_directory.hpp"
#include "lib/protocol/messages.hpp"

namespace troupe {

/// The control store's logic: the head's view of the cluster, in three
/// directories (nodes and jobs, actors, owners and object copies), and what
/// follows across them when a node or a process goes. Plain values: tests
/// drive it without an actor system. The actor around it (its interface
/// and protocol: lib/protocol/control_store_actor.hpp) plays the head's role
/// (head_control_store.cpp) or a member's, which passes cluster state to
/// the head (member_control_store.cpp).
struct control_store_state {
  node_info node; ///< this node
  node_directory nodes;
  actor_directory actors;
  object_directory objects;

  /// An actor to rebuild: its creator is asked to.
  struct actor_restart {
    object_id id;
    core_actor creator;         ///< null: the creator is gone, the head rebuilds it
    std::uint32_t restarts = 0; ///< rebuilds before this one
    actor_creation creation;    ///< what the head rebuilds it from
  };

  /// What follows from a node's death: whom to tell what.
  struct node_death {
    std::string why;                      ///< "node N died (reason)"
    std::vector<actor_notice> actors;     ///< its actors, now dead or restarting
    std::vector<actor_restart> restarts;  ///< the ones restarting
    std::vector<job_record> jobs;         ///< its drivers' jobs, now ended
    std::vector<core_actor> other_owners; ///< the owners left: told `why`
    std::vector<core_actor> gone_owners;  ///< the owners that died with it
  };

  /// Actor `id` died because `why` (`restartable`: see actor_directory::
  /// died). Fills `restart` when its creator is to rebuild it; returns the
  /// callers to tell, or nothing.
  std::optional<actor_notice> actor_died(const object_id& id, const std::string& why,
                                         bool restartable, std::optional<actor_restart>& restart);

  /// Node `node_id` died because `reason`: its actors die, its drivers'
  /// jobs end, its owners and copies are forgotten. Returns nothing when it
  /// was dead or unknown (a second report changes nothing).
  std::optional<node_death> node_died(std::uint64_t node_id, const std::string& reason);

  /// The process of owner `owner_id` (a driver or worker) is gone: it is
  /// forgotten. Returns its actors that die with it (kill them): those it
  /// created, not detached.
  std::vector<object_id> owner_gone(std::uint64_t owner_id);

  /// Returns the JSON status document: nodes, jobs and actors (resources
  /// are the cluster scheduler's, objects the store managers').
  std::string describe_json() const;
};

class head_records;

/// How a control store lives through its head's death.
struct control_store_options {
  /// Head: where it writes its state and, restarted, finds it again (null:
  /// nowhere; a head that dies loses the cluster).
  std::shared_ptr<head_records> records;
  /// How long a restarted head waits for what it restored to come back, and
  /// a member for a head to come back at `head_host:head_port` (0: a member
  /// stops at once).
  std::chrono::seconds grace{60};
  std::string head_host;
  std::uint16_t head_port = 0;
};

/// Spawns the control store of `node`: the head's when `head` is null, else
/// a member's that passes cluster state to the head's control store.
control_store_actor spawn_control_store(caf::actor_system& sys, node_info node,
                                        control_store_actor head = {},
                                        control_store_options opts = {});

} // namespace troupe
