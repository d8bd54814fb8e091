#pragma once

#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "lib/protocol/core_actor.hpp"

namespace troupe::detail {

/// Gathers the results that the light actors of this process send to their
/// callers: those bound for one caller's core while the outbox read its
/// mailbox go in one message (a host runs the calls of many actors, so a
/// burst of calls would otherwise answer with a message per call).
///
///     light executor -> outbox : done(caller core, ResultBatch bytes)
///     outbox         -> outbox : flush (after what was queued before it)
///     outbox         -> caller : done(ResultBatch bytes, back to back)
///
/// The batches go back to back, as they are: merging them into one
/// ResultBatch read and rewrote each result, 7% of a host's time on calls
/// to random light actors; the caller reads a run of them at about the
/// cost of one (parse_results).
///
/// The caller sees the outbox as the sender: a process of its own, as the
/// executor was (submitter::from_current_attempt compares processes).
using result_outbox_actor =
  caf::typed_actor<caf::reacts_to<done_atom, core_actor, std::vector<char>>,
                   caf::reacts_to<flush_atom>>;

result_outbox_actor spawn_result_outbox(caf::actor_system& sys);

/// Returns `batches` back to back, in order (taking the only one as it is).
std::vector<char> concat_result_batches(std::vector<std::vector<char>>& batches);

} // namespace troupe::detail
