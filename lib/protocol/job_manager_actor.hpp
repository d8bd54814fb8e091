#pragma once

#include <cstdint>
#include <string>

#include <caf/typed_actor.hpp>

#include "lib/protocol/fwd.hpp"

namespace troupe {

/// The head's job manager (actors/job_manager.hpp): runs driver programs
/// submitted with `troupe job submit` on the head, keeps their output in the
/// session folder (`job-ID.out`) and their states. Logic: `job_table`.
///
///     CLI     -> jobs : submit(job_submission) ==> submitted_job (PENDING or RUNNING)
///                     | jobs                   ==> submitted_jobs (every job)
///                     | status(id)             ==> submitted_job
///                     | stop(id)               ==> submitted_job (SIGTERM to its
///                                                 process group, SIGKILL after
///                                                 the grace period)
///                     | log(id, offset, max)   ==> bytes of its output
///     fetcher -> jobs : exe(hash, cached path, "") | exe(hash, "", why)
///     reaper  -> jobs : child(pid, wait status)   (any child of the head)
///     jobs    -> self : kill(id)                  (its grace period is over)
///     node    -> jobs : node(node_info)           (the head's address, for
///                                                  the drivers' TROUPE_ADDRESS)
///
/// An unknown id is an error naming it. The head's stop (an exit message)
/// sends the running jobs SIGTERM.
using job_manager_actor = caf::typed_actor<
  caf::replies_to<submit_atom, job_submission>::with<submitted_job>,
  caf::replies_to<jobs_atom>::with<submitted_jobs>,
  caf::replies_to<status_atom, std::uint64_t>::with<submitted_job>,
  caf::replies_to<stop_atom, std::uint64_t>::with<submitted_job>,
  caf::replies_to<log_atom, std::uint64_t, std::uint64_t, std::uint64_t>::with<std::string>,
  caf::reacts_to<exe_atom, std::string, std::string, std::string>,
  caf::reacts_to<child_atom, std::int32_t, std::int32_t>,
  caf::reacts_to<kill_atom, std::uint64_t>,
  caf::reacts_to<node_atom, node_info>>;

} // namespace troupe
