#pragma once

// The one place troupe converts between actor handles. Handles travel typed
// (lib/protocol/messages.hpp), but CAF hands some out untyped: the sender of
// the current message, the source of a down message. And a list that mixes
// processes of several kinds (a member node's watch list holds core actors
// and actor instances) can only hold them untyped.

#include <caf/actor_cast.hpp>

namespace troupe {

/// Returns a handle of kind `To` to the actor `x` names.
template <class To, class From>
To handle_cast(const From& x) {
  return caf::actor_cast<To>(x);
}

} // namespace troupe
