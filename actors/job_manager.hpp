#pragma once

// The head's job manager: runs the driver programs of `troupe job submit`
// on the head (protocol: lib/protocol/job_manager_actor.hpp; states:
// job_table.hpp).
//
// A job's program is the submitter's file: the head runs its own file at
// that path when its SHA-256 is the same (`/bin/sh`, or a build folder the
// head shares), else a copy fetched from the submitting CLI into the
// executable cache, as nodes fetch drivers' executables for workers. It
// runs in a process group of its own, in `job-ID/` of the head's session
// folder, with stdin from /dev/null and stdout and stderr into `job-ID.out`
// there, and TROUPE_ADDRESS naming the head, so that `troupe::init()`
// joins this cluster. It inherits the head's security (TROUPE_TOKEN or
// TROUPE_INSECURE) and none of its node settings.

#include <chrono>
#include <string>

#include <caf/fwd.hpp>

#include "lib/protocol/job_manager_actor.hpp"

namespace troupe {

struct job_manager_options {
  /// Where jobs' output and working folders go ("": submissions fail).
  std::string session_dir;
  /// How long a stopped job has between SIGTERM and SIGKILL.
  std::chrono::milliseconds grace{5000};
};

/// Spawns the job manager. It learns the head's address from a
/// `node(node_info)` message; an exit message (the head stops) sends its
/// running jobs SIGTERM before it quits.
job_manager_actor spawn_job_manager(caf::actor_system& sys, job_manager_options opts);

} // namespace troupe
