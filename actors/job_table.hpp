#pragma once

// The head's submitted jobs (`troupe job`): their rows and the moves
// between their states, without processes or a network, so that tests drive
// it directly. The job manager (job_manager.hpp) does what it decides.
//
//     submit --> PENDING --started(pid)--> RUNNING --exited(status 0)--> SUCCEEDED
//                   |                         |------exited(other)-----> FAILED
//                   |--start_failed(why)------------------------------> FAILED
//                   |--stop------------------------------------------> STOPPED
//                                    RUNNING --stop, then exited------> STOPPED

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "lib/protocol/job_messages.hpp"

namespace troupe {

class job_table {
public:
  /// Adds a PENDING job for `s`, submitted at `now`; returns its row.
  const submitted_job& submit(const job_submission& s, double now);

  /// Returns job `id`, or null when there is none.
  const submitted_job* find(std::uint64_t id) const;

  /// Job `id` runs as process `pid` (whose group it leads) since `now`.
  /// Returns false when the job left PENDING meanwhile (it was stopped):
  /// the caller then kills what it started.
  bool started(std::uint64_t id, std::int32_t pid, double now);

  /// Job `id` could not start: it failed with `why`.
  void start_failed(std::uint64_t id, const std::string& why, double now);

  /// What a stop asks of the manager.
  enum class stop_action { none, cancel, signal };

  /// `job stop`: a PENDING job is STOPPED at once (`cancel`); a RUNNING one
  /// is to be signalled (`signal`) and is STOPPED when it exits; an ended
  /// one is left alone (`none`). Throws std::invalid_argument for an
  /// unknown id.
  stop_action stop(std::uint64_t id, double now);

  /// Process `pid` ended with wait status `status`: returns the id of the
  /// job it ran, or nothing when it ran none (a worker of the head).
  std::optional<std::uint64_t> exited(std::int32_t pid, int status, double now);

  /// The RUNNING jobs' pids (their process groups), to signal when the head
  /// stops.
  std::map<std::uint64_t, std::int32_t> running() const;

  /// Every job, oldest first.
  submitted_jobs list() const;

  /// Returns job `id`; throws std::invalid_argument naming it when there is
  /// none.
  const submitted_job& get(std::uint64_t id) const;

private:
  submitted_job& row(std::uint64_t id);

  std::map<std::uint64_t, submitted_job> jobs_;
  std::map<std::int32_t, std::uint64_t> by_pid_; ///< running jobs
  std::set<std::uint64_t> stopping_;             ///< signalled by `stop`
  std::uint64_t next_ = 1;
};

/// `PROG ARG...` of a submission, each word quoted when it needs to be.
std::string entrypoint_of(const job_submission& s);

/// A job as `troupe job list --json` and the dashboard show it (`Json`:
/// nlohmann::json or ordered_json).
template <class Json>
Json submitted_job_json(const submitted_job& r) {
  return Json{{"id", r.id},           {"state", r.state},     {"entrypoint", r.entrypoint},
              {"message", r.message}, {"pid", r.pid},         {"exit_code", r.exit_code},
              {"submitted", r.submitted}, {"started", r.started}, {"ended", r.ended},
              {"output", r.output}};
}

} // namespace troupe
