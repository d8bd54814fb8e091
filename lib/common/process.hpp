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

/// Returns how a child ended, from its `waitpid` status, e.g.
/// `killed by signal 11 (SIGSEGV)` or `exited with status 3`.
std::string describe_exit(int status);

/// Returns the path of this process's executable.
std::string self_exe();

/// Waits up to `timeout_ms` for child `pid` to end; returns its status, or
/// -1 if it is still running.
int wait_child(int pid, int timeout_ms);

} // namespace troupe::detail
