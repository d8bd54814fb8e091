#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "lib/protocol/messages.hpp"
#include "store/data_channel.hpp"

namespace troupe::store {

/// One read of the data channel for the store manager: bytes of an object in
/// a source node's store, straight into this node's copy of it.
struct receive_job {
  std::string host;       ///< the source node's host
  std::uint16_t port = 0; ///< its data server
  std::uint64_t key = 0;
  std::uint64_t offset = 0; ///< of the object in the source's store
  object_id id;
  std::uint64_t start = 0;
  std::uint64_t length = 0;
  std::uint64_t pin = 0;  ///< the copy, pinned for the read: unpinned after it
  std::uint64_t dest = 0; ///< address in this process: a local message only
};

template <class I>
typename I::result_type inspect(I& f, receive_job& x) {
  return f(caf::meta::type_name("troupe.receive_job"), x.host, x.port, x.key, x.offset,
           x.id, x.start, x.length, x.pin, x.dest);
}

/// The reads of the data channel from one source node, on a thread of their
/// own (they block), one at a time over one connection. Local to a store
/// manager, which asks it and gets the answer as a response:
///
///     manager -> receiver : pull(receive_job) ==> (connected, error)
///         error "" when all bytes arrived; connected false when the source's
///         data server could not be reached at all (pull by CAF messages
///         instead). The job's pin is given back either way, once nothing
///         writes into the copy any more.
///     manager -> receiver : stop   (after the reads sent before it)
using data_receiver_actor =
    caf::typed_actor<caf::replies_to<pull_atom, receive_job>::with<bool, std::string>,
                     caf::reacts_to<stop_atom>>;

/// Spawns a receiver (detached: a thread of its own) reading over `client`,
/// which the caller may `cancel` to end a blocked read, into `store` (kept
/// while the receiver lives: its last read may end after its manager).
data_receiver_actor spawn_data_receiver(caf::actor_system& sys,
                                        std::shared_ptr<data_client> client,
                                        std::shared_ptr<object_store> store);

} // namespace troupe::store
