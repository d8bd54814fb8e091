#pragma once

// Starting and watching real processes from integration tests.

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "lib/net/credentials.hpp"
#include "lib/common/process.hpp"

namespace troupe::test {

/// Returns whether process `pid` exists and is not a zombie whose threads
/// are all gone. Its main thread turns zombie before the others have ended,
/// and its descriptors (a lock, a listening port) close only with the last.
inline bool alive(int pid) {
  auto proc = "/proc/" + std::to_string(pid);
  std::ifstream stat{proc + "/stat"};
  std::string line;
  if (!std::getline(stat, line))
    return false;
  auto close = line.rfind(')');
  if (close == std::string::npos || line.size() <= close + 2 || line[close + 2] != 'Z')
    return true;
  std::error_code ec;
  std::size_t threads = 0;
  for (auto it = std::filesystem::directory_iterator{proc + "/task", ec};
       !ec && it != std::filesystem::directory_iterator{}; it.increment(ec))
    ++threads;
  return threads > 1;
}

/// Waits up to `timeout` for `pid` to be gone.
inline bool gone_within(int pid, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (alive(pid)) {
    detail::wait_child(pid, 0); // reap it if it is our child
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

/// Returns the state letter of thread `tid` of process `pid` ('R', 'S', 'T',
/// ...), or 0 when it is gone.
inline char thread_state(int pid, const std::string& tid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/task/" + tid + "/stat"};
  std::string line;
  if (!std::getline(stat, line))
    return 0;
  auto close = line.rfind(')');
  return close != std::string::npos && line.size() > close + 2 ? line[close + 2] : 0;
}

/// Sends SIGSTOP to `pid` and waits (up to `timeout`) until every one of its
/// threads has stopped. `kill` returns before that: a thread already running
/// on another core goes on until it next enters the kernel, long enough to
/// pass on a message sent right after. Returns whether all stopped in time.
inline bool stop_process(int pid, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  if (::kill(pid, SIGSTOP) != 0)
    return false;
  auto until = std::chrono::steady_clock::now() + timeout;
  auto task_dir = "/proc/" + std::to_string(pid) + "/task";
  for (;;) {
    bool all = true;
    std::error_code ec;
    for (auto& t : std::filesystem::directory_iterator(task_dir, ec)) {
      auto state = thread_state(pid, t.path().filename().string());
      all = all && (state == 'T' || state == 't' || state == 0);
    }
    if (ec)
      return false;
    if (all)
      return true;
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

/// Returns the pids of processes whose environment holds `entry`.
inline std::vector<int> processes_with_env(const std::string& entry) {
  std::vector<int> out;
  for (auto& d : std::filesystem::directory_iterator("/proc")) {
    auto name = d.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream env{d.path() / "environ", std::ios::binary};
    std::string all{std::istreambuf_iterator<char>(env), {}};
    std::size_t pos = 0;
    while (pos < all.size()) {
      auto end = all.find('\0', pos);
      if (all.compare(pos, end - pos, entry) == 0) {
        if (alive(std::stoi(name)))
          out.push_back(std::stoi(name));
        break;
      }
      pos = end == std::string::npos ? all.size() : end + 1;
    }
  }
  return out;
}

/// Gives this test process a cluster token, unless it has one or runs
/// insecure: the nodes and drivers it starts inherit it, as the processes of
/// one cluster share theirs.
inline void ensure_cluster_token() {
  auto* insecure = std::getenv("TROUPE_INSECURE");
  auto* token = std::getenv("TROUPE_TOKEN");
  if ((insecure && std::string{insecure} == "1") || (token && *token))
    return;
  ::setenv("TROUPE_TOKEN", net::cluster_token::generate().text().c_str(), 1);
}

/// A child process started from this test executable with extra environment
/// variables (and this process's cluster token: `ensure_cluster_token`), whose first output line (written to the fd in TROUPE_READY_FD)
/// is read back. Killed with SIGKILL when it goes out of scope.
class child_process {
public:
  explicit child_process(std::vector<std::string> env,
                         const std::string& exe = detail::self_exe()) {
    ensure_cluster_token();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    int wfd = ::dup(fds[1]);
    ::close(fds[1]);
    pid_ = detail::spawn_process(exe, {}, env, wfd); // its TROUPE_READY_FD
    ::close(wfd);
    read_fd_ = fds[0];
  }
  ~child_process() {
    if (pid_ > 0 && alive(pid_)) {
      ::kill(pid_, SIGKILL);
      detail::wait_child(pid_, 5000);
    }
    if (read_fd_ >= 0)
      ::close(read_fd_);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Returns the first line the child wrote, or "" after `timeout`.
  std::string ready_line(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::string line;
    pollfd p{read_fd_, POLLIN, 0};
    auto until = std::chrono::steady_clock::now() + timeout;
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return "";
      char buf[128];
      auto n = ::read(read_fd_, buf, sizeof(buf));
      if (n <= 0)
        return "";
      line.append(buf, static_cast<std::size_t>(n));
    }
    return line.substr(0, line.find('\n'));
  }

  [[nodiscard]] int pid() const noexcept { return pid_; }

private:
  int pid_ = -1;
  int read_fd_ = -1;
};

} // namespace troupe::test
