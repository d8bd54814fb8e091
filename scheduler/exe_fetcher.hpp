#pragma once

#include <filesystem>
#include <string>

#include <caf/fwd.hpp>

#include "lib/protocol/exe_source_actor.hpp"
#include "lib/protocol/local_scheduler_actor.hpp"

namespace troupe::sched {

/// Who a fetcher tells how it went: a local scheduler, or the head's job
/// manager (both have this signature, so their handles convert).
using exe_listener =
  caf::typed_actor<caf::reacts_to<exe_atom, std::string, std::string, std::string>>;

/// Spawns an actor that copies a driver's executable (`exe`, with SHA-256
/// `hash`) from the driver's core actor into `target`, in chunks with
/// several in flight, checks its hash, and tells `listener`
/// `exe(exe, target, "")`, or `exe(exe, "", why)` when it failed: `why` is
/// "cannot fetch WHAT: REASON", WHAT naming the file for its listener's
/// errors (e.g. "the executable /bin/app from its driver").
///
///     fetcher -> driver core : exe ==> size | exe(start, length) ==> bytes
void spawn_exe_fetcher(caf::actor_system& sys, std::string exe, std::string hash,
                       std::filesystem::path target, exe_source_actor driver,
                       exe_listener listener, std::string what);

} // namespace troupe::sched
