#pragma once

// The CLI's record of the node daemons it started: one pid file per node in
// `${XDG_RUNTIME_DIR:-/tmp}/troupe-$UID/`, so that `troupe stop` and
// `troupe status` find them again without searching processes by name.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace troupe::tools {

/// One node daemon started by `troupe start`.
struct node_record {
  int pid = 0;
  std::string address;          ///< `host:port` of its control store
  std::string exe;              ///< the executable it runs (readlink of /proc/PID/exe)
  std::uint64_t start_time = 0; ///< field 22 of /proc/PID/stat: guards against pid reuse
  std::filesystem::path file;   ///< where this record is stored
  std::string head;             ///< the head's `host:port` ("" for a head itself)
};

/// Returns the directory of pid files and logs, creating it (mode 0700).
std::filesystem::path state_dir();

/// Returns the path of the pid file of the node with `pid`.
std::filesystem::path pid_file(int pid);

/// Writes `rec` to its pid file (atomically: a reader never sees half of it).
void write_record(const node_record& rec);

/// Returns every record in the state directory; unreadable files are skipped.
std::vector<node_record> read_records();

/// Returns the start time of process `pid` (field 22 of /proc/PID/stat), or 0
/// if there is no such process or it is a zombie.
std::uint64_t process_start_time(int pid);

/// Returns the executable of process `pid`, without the " (deleted)" suffix
/// the kernel adds after a rebuild; empty if unreadable.
std::string process_exe(int pid);

/// Returns whether `rec` still names the process we started: same pid, same
/// executable, same start time.
bool is_alive(const node_record& rec);

} // namespace troupe::tools
