#pragma once

#include <string>
#include <vector>

namespace troupe::detail {

/// Starts `exe` with `args` (argv[1..]) and the current environment plus
/// `env` (`NAME=value` entries, which override). Returns the child's pid;
/// throws `troupe::error` if it cannot be started.
///
/// The child inherits stdin, stdout and stderr, and `ready_fd` (when not -1:
/// the write end of a pipe it reports on) as fd 3, named by
/// TROUPE_READY_FD=3; no other descriptor. CAF opens its sockets without
/// close-on-exec: a worker that inherited its node's listening socket kept
/// the node's port after the node's death, and a head restarted on that port
/// could not listen on it.
int spawn_process(const std::string& exe, const std::vector<std::string>& args,
                  const std::vector<std::string>& env, int ready_fd = -1);

/// A child to start with `spawn_child`: more than `spawn_process` sets.
struct child_spec {
  std::string exe;
  std::vector<std::string> args; ///< argv[1..]
  std::vector<std::string> env;  ///< `NAME=value`, overriding the inherited ones
  /// Inherited variables not passed on: an entry ending in `*` drops every
  /// name it starts, unless `env` sets it or `keep` names it.
  std::vector<std::string> drop, keep;
  int output_fd = -1;  ///< the child's stdout and stderr (-1: ours); stdin is /dev/null then
  std::string cwd;     ///< its working directory ("": ours)
  bool own_group = false; ///< lead a process group of its own (to signal it whole)
};

/// Starts `spec`; returns the child's pid, or throws `troupe::error` naming
/// the program and why it cannot start. The child gets no descriptor but
/// 0-2.
int spawn_child(const child_spec& spec);

/// Returns how a child ended, from its `waitpid` status, e.g.
/// `killed by signal 11 (SIGSEGV)` or `exited with status 3`.
std::string describe_exit(int status);

/// Returns the path of this process's executable.
std::string self_exe();

/// Waits up to `timeout_ms` for child `pid` to end; returns its status, or
/// -1 if it is still running.
int wait_child(int pid, int timeout_ms);

} // namespace troupe::detail
