#include "lib/common/process.hpp"

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <map>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "troupe/errors.hpp"

extern char** environ;

namespace troupe::detail {

namespace {

/// The descriptors a child gets: 0-2, and `ready_fd` as 3; every other one
/// is closed in the child.
class child_fds {
public:
  explicit child_fds(int ready_fd) {
    posix_spawn_file_actions_init(&actions_);
    int first_closed = 3;
    if (ready_fd >= 0) {
      posix_spawn_file_actions_adddup2(&actions_, ready_fd, 3);
      first_closed = 4;
    }
    posix_spawn_file_actions_addclosefrom_np(&actions_, first_closed);
  }
  ~child_fds() { posix_spawn_file_actions_destroy(&actions_); }
  child_fds(const child_fds&) = delete;
  child_fds& operator=(const child_fds&) = delete;
  const posix_spawn_file_actions_t* get() const noexcept { return &actions_; }

private:
  posix_spawn_file_actions_t actions_;
};

} // namespace

int spawn_process(const std::string& exe, const std::vector<std::string>& args,
                  const std::vector<std::string>& env, int ready_fd) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    vars[kv.substr(0, eq)] = kv;
  }
  for (auto& kv : env)
    vars[kv.substr(0, kv.find('='))] = kv;
  // The child's own number for it, whatever the caller put in `env`.
  if (ready_fd >= 0)
    vars["TROUPE_READY_FD"] = "TROUPE_READY_FD=3";
  std::vector<char*> envp;
  for (auto& [k, kv] : vars)
    envp.push_back(const_cast<char*>(kv.c_str()));
  envp.push_back(nullptr);
  std::vector<char*> argv{const_cast<char*>(exe.c_str())};
  for (auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  child_fds fds{ready_fd};
  auto rc = posix_spawn(&pid, exe.c_str(), fds.get(), nullptr, argv.data(), envp.data());
  if (rc != 0)
    throw error(error_kind::runtime,
                "cannot start " + exe + ": " + std::strerror(rc));
  return pid;
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    auto sig = WTERMSIG(status);
    auto* abbrev = sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig)
           + (abbrev ? std::string{" (SIG"} + abbrev + ")" : "");
  }
  if (WIFEXITED(status))
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended with wait status " + std::to_string(status);
}

std::string self_exe() {
  char buf[PATH_MAX];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    throw error(error_kind::runtime, "cannot read /proc/self/exe");
  return {buf, static_cast<std::size_t>(n)};
}

int wait_child(int pid, int timeout_ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    auto rc = ::waitpid(pid, &status, WNOHANG);
    if (rc == pid)
      return status;
    if (rc < 0)
      return 0; // not our child any more (reaped elsewhere)
    if (std::chrono::steady_clock::now() >= until)
      return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

} // namespace troupe::detail
