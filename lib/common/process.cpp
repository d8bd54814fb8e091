#include "lib/common/process.hpp"

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <signal.h>
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

/// Whether inherited variable `name` stays out of the child's environment.
bool dropped(const std::string& name, const child_spec& spec) {
  for (auto& k : spec.keep)
    if (k == name)
      return false;
  for (auto& d : spec.drop)
    if (d == name || (d.ends_with('*') && name.starts_with(d.substr(0, d.size() - 1))))
      return true;
  return false;
}

/// `NAME=value` entries of the child: ours, less what `spec` drops, with
/// what it sets.
std::vector<std::string> child_environment(const child_spec& spec, int ready_fd) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto name = kv.substr(0, kv.find('='));
    if (!dropped(name, spec))
      vars[name] = kv;
  }
  for (auto& kv : spec.env)
    vars[kv.substr(0, kv.find('='))] = kv;
  // The child's own number for it, whatever the caller put in `env`.
  if (ready_fd >= 0)
    vars["TROUPE_READY_FD"] = "TROUPE_READY_FD=3";
  std::vector<std::string> out;
  for (auto& [k, kv] : vars)
    out.push_back(kv);
  return out;
}

int spawn_with(const child_spec& spec, int ready_fd, const posix_spawn_file_actions_t* fds,
               const posix_spawnattr_t* attr) {
  auto env = child_environment(spec, ready_fd);
  std::vector<char*> envp;
  for (auto& kv : env)
    envp.push_back(const_cast<char*>(kv.c_str()));
  envp.push_back(nullptr);
  std::vector<char*> argv{const_cast<char*>(spec.exe.c_str())};
  for (auto& a : spec.args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  auto rc = posix_spawn(&pid, spec.exe.c_str(), fds, attr, argv.data(), envp.data());
  if (rc != 0)
    throw error(error_kind::runtime, "cannot start " + spec.exe + ": " + std::strerror(rc));
  return pid;
}

} // namespace

int spawn_process(const std::string& exe, const std::vector<std::string>& args,
                  const std::vector<std::string>& env, int ready_fd) {
  child_fds fds{ready_fd};
  return spawn_with({exe, args, env, {}, {}, -1, {}, false}, ready_fd, fds.get(), nullptr);
}

int spawn_child(const child_spec& spec) {
  posix_spawn_file_actions_t fds;
  posix_spawn_file_actions_init(&fds);
  if (spec.output_fd >= 0) {
    posix_spawn_file_actions_addopen(&fds, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fds, spec.output_fd, 1);
    posix_spawn_file_actions_adddup2(&fds, spec.output_fd, 2);
  }
  posix_spawn_file_actions_addclosefrom_np(&fds, 3);
  if (!spec.cwd.empty())
    posix_spawn_file_actions_addchdir_np(&fds, spec.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A node daemon blocks SIGTERM and SIGINT in its threads (a thread of its
  // own takes them): the child starts with none blocked, so that they stop it.
  sigset_t none, stops;
  sigemptyset(&none);
  sigemptyset(&stops);
  sigaddset(&stops, SIGTERM);
  sigaddset(&stops, SIGINT);
  sigaddset(&stops, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &stops);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (spec.own_group) {
    posix_spawnattr_setpgroup(&attr, 0);
    flags |= POSIX_SPAWN_SETPGROUP;
  }
  posix_spawnattr_setflags(&attr, flags);
  try {
    auto pid = spawn_with(spec, -1, &fds, &attr);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fds);
    return pid;
  } catch (...) {
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fds);
    throw;
  }
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
