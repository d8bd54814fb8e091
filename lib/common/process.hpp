#pragma once

#include <string>
#include <vector>

namespace troupe::detail {

/// Starts `exe` with `args` (argv[1..]) and the current environment plus
/// `env` (`NAME=value` entries, which override). Returns the child's pid;
/// throws `troupe::error` if it cannot be started.
int spawn_process(const std::string& exe, const std::vector<std::string>& args,
                  const std::vector<std::string>& env);

/// Returns how a child ended, from its `waitpid` status, e.g.
/// `killed by signal 11 (SIGSEGV)` or `exited with status 3`.
std::string describe_exit(int status);

/// Returns the path of this process's executable.
std::string self_exe();

/// Waits up to `timeout_ms` for child `pid` to end; returns its status, or
/// -1 if it is still running.
int wait_child(int pid, int timeout_ms);

} // namespace troupe::detail
