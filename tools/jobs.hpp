#pragma once

// `troupe job`: run driver programs on a cluster's head, like `ray job`
// (the head's side: actors/job_manager.hpp).
//
//     troupe job submit -- PROG ARGS   run PROG on the head, print its output
//                                      until it ends (--no-wait: print its id)
//     troupe job list                  every submitted job
//     troupe job status ID             one job
//     troupe job logs ID               its output (--follow, --tail N)
//     troupe job stop ID               SIGTERM, then SIGKILL after a grace period

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
} // namespace CLI

namespace troupe::tools {

struct job_options {
  std::string address;               ///< HOST:PORT of any node ("": the head started here)
  std::vector<std::string> command;  ///< submit: the program and its arguments
  std::vector<std::string> env;      ///< submit: NAME=VALUE for the program
  bool no_wait = false;              ///< submit, stop: do not wait for the end
  std::uint64_t id = 0;              ///< status, logs, stop
  bool json = false;                 ///< list, status
  bool follow = false;               ///< logs
  long tail = -1;                    ///< logs: only the last N lines
};

/// The `job` command and its subcommands, added to a CLI.
struct job_commands {
  job_options options;
  CLI::App* job = nullptr;
  CLI::App* submit = nullptr;
  CLI::App* list = nullptr;
  CLI::App* status = nullptr;
  CLI::App* logs = nullptr;
  CLI::App* stop = nullptr;
};

/// Adds `job` and its subcommands to `app`, their flags into `c.options`.
void add_job_commands(CLI::App& app, job_commands& c);

/// Runs the subcommand that was given; returns the exit code: 0, 1 when the
/// job failed or the cluster cannot be reached, 2 for bad input.
int run_job_command(const job_commands& c);

} // namespace troupe::tools
