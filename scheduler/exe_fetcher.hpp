#pragma once

#include <filesystem>
#include <string>

#include <caf/fwd.hpp>

#include "lib/protocol/exe_source_actor.hpp"
#include "lib/protocol/local_scheduler_actor.hpp"

namespace troupe::sched {

/// Spawns an actor that copies a driver's executable (`exe`, with SHA-256
/// `hash`) from the driver's core actor into `target`, in chunks with
/// several in flight, checks its hash, and tells `scheduler` (a local
/// scheduler) `exe(exe, target, "")`, or `exe(exe, "", why)` when it failed.
///
///     fetcher -> driver core : exe ==> size | exe(start, length) ==> bytes
void spawn_exe_fetcher(caf::actor_system& sys, std::string exe, std::string hash,
                       std::filesystem::path target, exe_source_actor driver,
                       local_scheduler_actor scheduler);

} // namespace troupe::sched
