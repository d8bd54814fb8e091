#pragma once

// The control store as an actor: the state both roles share, the routing
// both do, and each role's behaviour (head_control_store.cpp,
// member_control_store.cpp). Internal to actors/.

#include <cstdint>
#include <map>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "actors/control_store.hpp"

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

/// A process of this node is down: it is introduced no more.
void forget_process(cs_ptr self, const caf::actor_addr& addr);

} // namespace troupe
