#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "lib/protocol/fwd.hpp"
#include "lib/protocol/local_scheduler_actor.hpp"

namespace troupe {

/// The cluster scheduler, on the head node: it sees every node's resources
/// (from their local schedulers' reports) and places what a local scheduler
/// hands on: requests with a strategy, and requests its node has no room
/// for. It also places and reserves placement groups. Logic: `cluster_state`.
///
///     head control -> cluster : join(node, total, scheduler) | node_down(node)
///     local sched. -> cluster : report(resource_report)
///                             | place(lease_request, origin node) ==> placement
///     client       -> cluster : group(group_spec)  ==> group_state (created)
///                             | group(id)          ==> group_state (now)
///                             | release(id)        ==> bool (removed; false:
///                                                   no such group). Answered once
///                                                   the group is gone here; the
///                                                   nodes free its bundles after
///     anyone       -> cluster : status             ==> JSON of cluster_scheduler_status
///     cluster -> local sched. : nodes(alive count) | reserve(bundle) | release(group)
using cluster_scheduler_actor = caf::typed_actor<
  caf::reacts_to<join_atom, std::uint64_t, resource_map, local_scheduler_actor>,
  caf::reacts_to<node_down_atom, std::uint64_t>,
  caf::reacts_to<report_atom, resource_report>,
  caf::replies_to<place_atom, lease_request, std::uint64_t>::with<placement>,
  caf::replies_to<group_atom, group_spec>::with<group_state>,
  caf::replies_to<group_atom, std::uint64_t>::with<group_state>,
  caf::replies_to<release_atom, std::uint64_t>::with<bool>,
  caf::replies_to<status_atom>::with<std::string>>;

} // namespace troupe
