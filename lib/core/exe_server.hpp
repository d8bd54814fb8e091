#pragma once

// A driver's core serves its executable to nodes that lack it: they fetch
// it by size and chunks (core_actor.hpp: exe ==> size | exe(start, length)).

#include <cstdint>
#include <string>
#include <vector>

#include <atomic>
#include <memory>

#include <caf/all.hpp>

#include "lib/protocol/exe_source_actor.hpp"

namespace troupe::detail {

/// Returns the size of this process's executable (or of file `path`).
caf::result<std::uint64_t> exe_size(const std::string& path = "/proc/self/exe");

/// Returns `len` bytes of this process's executable (or of file `path`)
/// from `start`.
caf::result<std::vector<char>> exe_chunk(std::uint64_t start, std::uint64_t len,
                                         const std::string& path = "/proc/self/exe");

/// Spawns an actor that serves file `path` as the executable of a job
/// (`troupe job submit`), counting the bytes it sent in `*sent`.
exe_source_actor spawn_file_server(caf::actor_system& sys, std::string path,
                                   std::shared_ptr<std::atomic<std::uint64_t>> sent);

} // namespace troupe::detail
