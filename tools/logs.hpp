#pragma once

// `troupe logs`: the log files of every node of a cluster, read through the
// nodes' control stores (actors/node_logs.hpp), like `ray logs`.
//
//     troupe logs                      list every node's log files
//     troupe logs FILE [--node N]      print one (`--tail N`, `--follow`)
//     troupe logs --actor NAME         what an actor's worker wrote
//     troupe logs --task ID            what task ID wrote, on any worker

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::tools {

struct logs_options {
  std::string address;     ///< HOST:PORT of any node ("": the head started here)
  std::string file;        ///< a file to print
  std::uint64_t node = 0;  ///< only this node's files (0: every node's)
  std::string actor;       ///< the files of this named actor's worker
  std::string name_space;  ///< the actor's namespace
  std::uint64_t task = 0;  ///< the output of this task (0: none)
  bool follow = false;     ///< keep printing what is appended
  long tail = -1;          ///< only the last N lines (-1: all)
  bool json = false;       ///< the list as JSON
};

/// Runs `troupe logs`; returns the exit code (1: the cluster or the file
/// cannot be reached, 2: bad flags).
int run_logs(const logs_options& opts);

/// Returns `text` without the task markers of worker files
/// (lib/core/worker_output.hpp).
std::string without_markers(std::string_view text);

/// Returns the lines of `text` (a worker's .out or .err file) that task
/// `task` wrote: those after each marker naming it, up to the next marker.
std::string lines_of_task(std::string_view text, std::uint64_t task);

/// Returns the last `n` lines of `text`.
std::string last_lines(std::string_view text, std::size_t n);

} // namespace troupe::tools
