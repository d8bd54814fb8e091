#pragma once

// A driver's core serves its executable to nodes that lack it: they fetch
// it by size and chunks (core_actor.hpp: exe ==> size | exe(start, length)).

#include <cstdint>
#include <vector>

#include <caf/all.hpp>

namespace troupe::detail {

/// Returns the size of this process's executable.
caf::result<std::uint64_t> exe_size();

/// Returns `len` bytes of this process's executable from `start`.
caf::result<std::vector<char>> exe_chunk(std::uint64_t start, std::uint64_t len);

} // namespace troupe::detail
