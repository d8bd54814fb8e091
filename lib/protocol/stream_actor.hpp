#pragma once

#include <cstdint>

#include <caf/typed_actor.hpp>

#include "lib/protocol/fwd.hpp"

namespace troupe {

/// The producer side of streaming generators in a worker process: the
/// process's streamed items are sent as this actor, so that their consumer
/// (the submitter of the generator) knows where to send its acks; it hears
/// how far each consumer got, which lets a producer held back by
/// backpressure go on.
///
///     executor or host -> consumer's core : done(ResultBatch of items)
///                                           (sent as the stream actor)
///     consumer (core or user thread) -> stream actor : ack(stream, consumed)
///                  (consumed = UINT64_MAX: the consumer dropped the stream)
using stream_actor = caf::typed_actor<caf::reacts_to<ack_atom, object_id, std::uint64_t>>;

} // namespace troupe
