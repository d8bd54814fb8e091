#pragma once

#include <cstdint>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace troupe {

/// Method calls of light actors that share a host process, sent to its core
/// in one message: `batches[i]` (a TaskBatch) goes to the actor whose CAF id
/// is `actors[i]`, as if the sender had sent it there.
struct light_calls {
  std::vector<std::uint64_t> actors;
  std::vector<std::vector<char>> batches;
};

template <class I>
typename I::result_type inspect(I& f, light_calls& x) {
  return f(caf::meta::type_name("troupe.light_calls"), x.actors, x.batches);
}

} // namespace troupe
