#pragma once

#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "lib/protocol/core_actor.hpp"

namespace troupe::detail {

/// Gathers the results that the light actors of this process send to their
/// callers: those bound for one caller's core while the outbox read its
/// mailbox go as one ResultBatch (a host runs the calls of many actors, so a
/// burst of calls would otherwise answer with a message per call).
///
///     light executor -> outbox : done(caller core, ResultBatch bytes)
///     outbox         -> outbox : flush (after what was queued before it)
///     outbox         -> caller : done(ResultBatch bytes)  (merged)
///
/// The caller sees the outbox as the sender: a process of its own, as the
/// executor was (submitter::from_current_attempt compares processes).
using result_outbox_actor =
  caf::typed_actor<caf::reacts_to<done_atom, core_actor, std::vector<char>>,
                   caf::reacts_to<flush_atom>>;

result_outbox_actor spawn_result_outbox(caf::actor_system& sys);

/// Returns one ResultBatch holding the results of all `batches`, in order.
std::vector<char> merge_result_batches(const std::vector<std::vector<char>>& batches);

} // namespace troupe::detail
