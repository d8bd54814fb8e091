#pragma once

// What a worker's tasks and actors write to stdout and stderr (fds 1 and 2):
// kept in the worker's files `worker-ID-PID.out` / `.err` in its node's
// session folder, and sent to the driver of the job each line was written
// for, which prints it with Ray's prefix `(task_name pid=123, node=2)`.
//
// A worker's fds 1 and 2 are pipes that a thread of its own reads. The hot
// path pays nothing for it: starting a task notes who writes now (a short
// lock, no system call), and stdio's streams count their writes, so before
// a batch's results go back two atomic loads tell whether it wrote anything
// still unsent; only then does the executor wait for the lines to go out
// first, so that a driver sees a task's output before its result.
//
// In the files, a line `:task: job=J task=ID name=NAME` marks where output of
// another task starts (written only when a task writes), so that
// `troupe logs --task ID` finds a task's lines after it ended.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lib/protocol/messages.hpp"

namespace troupe::detail {

/// Who writes a worker's output now: the task it started last.
struct output_source {
  std::uint64_t job = 0;  ///< 0: no task yet, the lines stay in the files
  std::uint64_t task = 0;
  std::string tag; ///< the prefix's name: the function, or the actor's class
  std::string name; ///< the task's name, for the files' markers

  bool operator==(const output_source&) const = default;
};

/// Returns the prefix's name for a task named `name`: for an actor's
/// method call (`counter: counter::add`) the actor's name or class
/// (`counter`), else the name itself.
std::string output_tag(std::string_view name, bool actor_method);

/// Returns the marker line that starts output of `src` in a file, with its
/// newline.
std::string output_marker(const output_source& src);

/// Parses a marker line (without its newline); false when `line` is none.
bool parse_output_marker(std::string_view line, output_source& src);

/// The plain logic of a worker's output, without pipes or threads: splits
/// what was read into lines, writes markers, and groups the lines by job.
class output_lines {
public:
  static constexpr std::size_t max_line = 64 * 1024; ///< longer: split

  /// Takes `bytes` read from stdout (`err` false) or stderr, written while
  /// `src` ran; appends what goes into that stream's file to `file_text`.
  void take(bool err, std::string_view bytes, const output_source& src,
            std::string& file_text);

  /// Ends the partial lines of both streams (a task ended, or the worker
  /// stops), as if each had its newline.
  void end_partial_lines(const output_source& src, std::string& out_text,
                         std::string& err_text);

  /// Returns the lines taken since the last call, by job, and forgets them.
  std::map<std::uint64_t, std::vector<log_line>> take_pending();

  [[nodiscard]] bool has_pending() const noexcept { return pending_bytes_ > 0; }
  [[nodiscard]] bool has_partial() const noexcept {
    return !partial_[0].empty() || !partial_[1].empty();
  }
  [[nodiscard]] std::size_t pending_bytes() const noexcept { return pending_bytes_; }

private:
  void add_line(bool err, std::string_view line, const output_source& src,
                std::string& file_text);

  std::string partial_[2];
  bool marked_[2] = {false, false};
  output_source last_marked_[2]; ///< whose lines each file shows last
  std::map<std::uint64_t, std::vector<log_line>> pending_;
  std::size_t pending_bytes_ = 0;
};

/// Sends a job's lines to its driver (runs on the output thread).
using output_sender = std::function<void(std::uint64_t job, std::vector<log_line> lines)>;

/// Makes fds 1 and 2 of this worker pipes read by a thread that writes
/// `dir/file_stem.out` and `.err` (none when `dir` is empty) and hands each
/// job's lines to `send`. Stdout becomes line-buffered. Call once.
void start_worker_output(const std::string& dir, const std::string& file_stem,
                         output_sender send);

/// Notes that the calling thread starts task `task` (named `name`) of job
/// `job`: what the worker writes from now on is that task's.
void note_output_source(std::uint64_t job, std::uint64_t task, std::string_view name,
                        bool actor_method);

/// Flushes stdio, and when output written since the last call is not sent
/// yet, waits (up to 2 s) until the output thread has sent it: called before
/// a batch's results go back. Free when no output was written.
void sync_worker_output();

/// Formats `batch` as a driver prints it: each line `(tag pid=P, node=N)
/// text`, stdout's lines into `out` and stderr's into `err`; with `color`
/// the prefix is cyan (a terminal).
void format_log_batch(const log_batch& batch, bool color, std::string& out,
                      std::string& err);

/// Prints `batch` on this process's stdout and stderr, through stdio (in
/// order with what the driver itself printed through it).
void print_log_batch(const log_batch& batch);

} // namespace troupe::detail
