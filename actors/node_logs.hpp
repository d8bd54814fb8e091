#pragma once

// The log files of a node's session folder, as its control store serves
// them to `troupe logs` and the dashboard: the node daemon's own log
// (`node.log`), each worker's troupe log (`worker-ID-PID.log`) and what its
// tasks wrote (`worker-ID-PID.out`, `.err`), and the jobs' drivers'
// output (`job-ID.out`). Only plain names of files directly in that folder
// are served: a name with a slash, or one not listed, is refused.

#include <cstdint>
#include <string>
#include <vector>

namespace troupe {

/// One log file: `{name, size, kind, worker, pid, stream, modified}`.
struct log_file {
  std::string name;
  std::uint64_t size = 0;
  std::string kind;   ///< node, worker, job or other
  std::uint64_t worker = 0; ///< a worker's id (0: none)
  std::int32_t pid = 0;     ///< the worker's pid
  std::uint64_t job = 0;    ///< a job's id (0: none)
  std::string stream; ///< out, err or log
  double modified = 0; ///< seconds since the epoch
};

/// Returns the log files of `dir`, by name; none when it is not readable.
std::vector<log_file> list_log_files(const std::string& dir);

/// Returns `{"node": node_id, "files": [log_file...]}` as JSON text.
std::string log_files_json(std::uint64_t node_id, const std::vector<log_file>& files);

/// Parses what `log_files_json` wrote; throws std::exception when it is not
/// such a document.
std::vector<log_file> log_files_from_json(const std::string& text, std::uint64_t& node_id);

/// The most bytes one read returns.
constexpr std::uint64_t max_log_read = 1 << 20;

/// Returns up to `max` bytes (at most max_log_read) of log file `name` of
/// `dir` from `offset` (past its end: none). Throws std::invalid_argument
/// naming the file when it is not one of `dir`'s log files.
std::string read_log_file(const std::string& dir, const std::string& name,
                          std::uint64_t offset, std::uint64_t max);

} // namespace troupe
