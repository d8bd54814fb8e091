#pragma once

#include <cstdint>
#include <vector>

#include <caf/typed_actor.hpp>

#include "lib/protocol/fwd.hpp"

namespace troupe {

/// What a node's executable fetcher (scheduler/exe_fetcher) talks to: the
/// part of a driver's core actor that serves the driver's executable. A node
/// whose file at a job's path is missing or differs copies it in chunks,
/// several in flight, into its cache and tells its local scheduler.
///
///     fetcher -> driver core : exe                ==> size
///                            | exe(start, length) ==> bytes
///     fetcher -> scheduler   : exe(exe, cached path, "") | exe(exe, "", why)
///
/// `core_actor` has these signatures, so a core handle converts to it.
using exe_source_actor = caf::typed_actor<
    caf::replies_to<exe_atom>::with<std::uint64_t>,
    caf::replies_to<exe_atom, std::uint64_t, std::uint64_t>::with<std::vector<char>>>;

} // namespace troupe
