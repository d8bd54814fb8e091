#pragma once

// What `troupe job` and the head's job manager (actors/job_manager.hpp)
// exchange. Registered with the other message types (messages.hpp).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "lib/protocol/exe_source_actor.hpp"

namespace troupe {

/// A driver program to run on the head: `troupe job submit -- PROG ARGS`.
struct job_submission {
  std::string exe;   ///< the program's path where it was submitted
  std::string hash;  ///< SHA-256 of its bytes: the head runs its own copy if equal
  std::vector<std::string> args;  ///< argv[1..]
  std::vector<std::string> env;   ///< `NAME=value`, set for the program
  exe_source_actor source; ///< serves the program's bytes when the head lacks them
};

template <class I>
typename I::result_type inspect(I& f, job_submission& x) {
  return f(caf::meta::type_name("troupe.job_submission"), x.exe, x.hash, x.args, x.env,
           x.source);
}

/// A submitted job as `troupe job list|status` shows it. States, as Ray
/// names them: PENDING (its program is being fetched), RUNNING, then one of
/// SUCCEEDED (exit status 0), FAILED (another status, a signal it did not
/// ask for, or a program that could not start) and STOPPED (`job stop`).
struct submitted_job {
  std::uint64_t id = 0;
  std::string state;
  std::string entrypoint; ///< the program and its arguments, as submitted
  std::string message;    ///< how it ended, or why it failed
  std::int32_t pid = 0;   ///< while it runs, and after
  std::int32_t exit_code = -1; ///< its exit status (-1: none yet, or a signal)
  double submitted = 0, started = 0, ended = 0; ///< seconds since the epoch (0: not yet)
  std::string output; ///< its output's log file on the head (`job-ID.out`)
};

template <class I>
typename I::result_type inspect(I& f, submitted_job& x) {
  return f(caf::meta::type_name("troupe.submitted_job"), x.id, x.state, x.entrypoint, x.message,
           x.pid, x.exit_code, x.submitted, x.started, x.ended, x.output);
}

/// Every submitted job, oldest first.
struct submitted_jobs {
  std::vector<submitted_job> rows;
};

template <class I>
typename I::result_type inspect(I& f, submitted_jobs& x) {
  return f(caf::meta::type_name("troupe.submitted_jobs"), x.rows);
}

/// Whether a job in `state` has ended.
inline bool job_ended(const std::string& state) {
  return state == "SUCCEEDED" || state == "FAILED" || state == "STOPPED";
}

} // namespace troupe
