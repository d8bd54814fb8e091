#include "tools/node_commands.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <map>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "actors/node_daemon.hpp"
#include "lib/common/process.hpp"
#include "scheduler/resources.hpp"
#include "lib/common/config.hpp"
#include "lib/net/credentials.hpp"
#include "lib/net/security.hpp"
#include "tools/format.hpp"
#include "tools/node_files.hpp"

extern char** environ;

namespace troupe::tools {

namespace {

/// The head's state store for the node daemon (TROUPE_STATE): a member
/// keeps none; a head without a flag keeps one in its session folder.
std::string state_of(const start_flags& f) {
  if (!f.head)
    return "";
  if (!f.state_url.empty())
    return f.state_url;
  return f.state_dir.empty() ? "session" : f.state_dir;
}

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Starts `exe` in a session of its own (so that it survives the CLI and a
/// Ctrl-C in the CLI's terminal), stdin from /dev/null and stdout/stderr into
/// `log_fd`. Returns its pid. A plain fork is safe: the CLI has no threads yet.
int spawn_detached(const std::string& exe, const std::vector<std::string>& overrides,
                   int log_fd) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    vars[kv.substr(0, kv.find('='))] = kv;
  }
  for (auto& kv : overrides)
    vars[kv.substr(0, kv.find('='))] = kv;
  std::vector<char*> envp;
  for (auto& [name, kv] : vars)
    envp.push_back(kv.data());
  envp.push_back(nullptr);
  std::string arg0 = exe, arg1 = "--troupe-node";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    ::setsid();
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execve(exe.c_str(), argv, envp.data());
    ::_exit(127);
  }
  auto err = errno;
  ::close(null_fd);
  if (pid < 0)
    throw std::runtime_error(std::string{"cannot fork: "} + std::strerror(err));
  return pid;
}

/// Reads the "PORT\n" line a starting node writes to `fd`; returns 0 on end
/// of file (the node died), when `timeout` passes, or once `cancel` is set
/// (checked every 100 ms).
std::uint16_t read_port(int fd, std::chrono::milliseconds timeout,
                        const std::atomic<bool>* cancel = nullptr) {
  auto until = std::chrono::steady_clock::now() + timeout;
  std::string line;
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || (cancel && *cancel))
      return 0;
    pollfd p{fd, POLLIN, 0};
    auto ready = ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 100)));
    if (ready < 0 && errno != EINTR)
      return 0;
    if (ready <= 0)
      continue;
    char buf[64];
    auto n = ::read(fd, buf, sizeof(buf));
    if (n <= 0)
      return 0;
    line.append(buf, static_cast<std::size_t>(n));
  }
  try {
    return static_cast<std::uint16_t>(std::stoi(line));
  } catch (const std::exception&) {
    return 0;
  }
}

/// Returns the last `n` lines of file `path`, each indented.
std::string log_tail(const fs::path& path, std::size_t n) {
  std::ifstream in{path};
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(std::move(line));
  std::string out;
  for (auto i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += "  " + lines[i] + "\n";
  return out;
}

/// The token a head gives its cluster, or a node joins with, set in this
/// process's environment (the node daemon inherits it): --token, else
/// TROUPE_TOKEN; for a head, else the one its state directory keeps (a
/// restart), else the local cluster file (a Redis-backed head restarted
/// here), else a new one; for a member, else the local cluster file (a head
/// started here). A head writes it to the local cluster file, for the tools
/// and programs run here. Throws std::runtime_error saying what is wrong.
void settle_token(const start_flags& f) {
  if (f.insecure) {
    net::settle_security("", true, false);
    if (f.head)
      net::write_secret_file(net::local_cluster_file(), "insecure");
    return;
  }
  auto token = f.token;
  if (token.empty())
    token = detail::env_or(net::token_variable, "");
  if (token.empty() && f.head && !f.state_dir.empty())
    token = net::read_token_file(fs::path{f.state_dir} / "tls" / "token");
  if (token.empty() && (!f.head || !f.state_url.empty()))
    token = net::read_token_file(net::local_cluster_file());
  if (token == "insecure")
    throw std::runtime_error("the cluster started here runs --insecure: pass --insecure "
                             "too, or the token of a TLS cluster with --token");
  if (token.empty() && !f.head)
    throw std::runtime_error("joining a cluster needs its token: pass the one `troupe "
                             "start --head` printed with --token (or TROUPE_TOKEN)");
  if (token.empty())
    token = net::cluster_token::generate().text();
  net::settle_security(token, false, false);
  if (f.head)
    net::write_token_file(net::local_cluster_file(), net::cluster_token::parse(token));
}

void print_started(const std::string& address, const std::string& head) {
  if (head.empty()) {
    auto token = detail::env_or(net::token_variable, "");
    auto join = token.empty() ? std::string{" --insecure"} : " --token " + token;
    std::cout << "troupe head started at " << address << "\n"
              << "connect with troupe::init({.address = \"" << address << "\"}); join"
              << " nodes with `troupe start --address " << address << join << "`;"
              << " stop with `troupe stop`\n";
    if (token.empty())
      std::cout << "WARNING: this cluster runs without TLS (--insecure): anyone who can "
                   "reach its port can run code on it\n";
  }
  else
    std::cout << "troupe node started at " << address << " and joined the cluster at "
              << head << "\n";
  std::cout << std::flush;
}

int start_background(const start_flags& f) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("cannot create a pipe");
  // The child inherits only this copy of the write end (no O_CLOEXEC).
  int wfd = ::dup(fds[1]);
  ::close(fds[1]);
  auto dir = state_dir();
  auto starting_log = dir / ("node-starting-" + std::to_string(::getpid()) + ".log");
  int log_fd =
      ::open(starting_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool logging = log_fd >= 0;
  if (!logging)
    log_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  auto exe = detail::self_exe();
  std::vector<std::string> env{
      "TROUPE_ROLE=node",
      "TROUPE_READY_FD=" + std::to_string(wfd),
      "TROUPE_PORT=" + std::to_string(f.port),
      "TROUPE_BIND=" + f.bind,
      // 0 means "the default" to the daemon: none is a CPU=0 resource.
      "TROUPE_NUM_CPUS=" + format_number(std::max(0.0, f.num_cpus)),
      "TROUPE_NUM_GPUS=" + format_number(f.num_gpus),
      "TROUPE_RESOURCES=" + f.resources + (f.num_cpus == 0 ? ",CPU=0" : ""),
      "TROUPE_OBJECT_STORE_BYTES=" + std::to_string(f.object_store_memory),
      "TROUPE_MAX_JOB_STORE_BYTES=" + std::to_string(f.max_job_store_bytes),
      "TROUPE_HEAD_ADDRESS=" + f.address,
      "TROUPE_SPILL_DIR=" + f.spill_dir,
      "TROUPE_STATE=" + state_of(f),
      "TROUPE_HEAD_GRACE=" + std::to_string(f.head_grace),
      "TROUPE_METRICS_PORT=" + std::to_string(f.metrics_port),
      "TROUPE_METRICS_BIND=" + f.metrics_bind,
      "TROUPE_DASHBOARD_PORT=" + std::to_string(f.dashboard_port),
      "TROUPE_DASHBOARD_BIND=" + f.dashboard_bind,
      // A CLI run from inside a troupe program must not pass its settings on.
      "TROUPE_WORKER_EXE=",
      "TROUPE_EMBEDDED_NODE=",
  };
  auto pid = spawn_detached(exe, env, log_fd);
  ::close(wfd);
  ::close(log_fd);
  auto log = dir / ("node-" + std::to_string(pid) + ".log");
  if (logging) {
    std::error_code ec;
    fs::rename(starting_log, log, ec);
  }
  auto port = read_port(fds[0], 20s);
  ::close(fds[0]);
  if (port == 0) {
    auto status = detail::wait_child(pid, 500);
    std::string what;
    if (status < 0) {
      ::kill(pid, SIGKILL);
      detail::wait_child(pid, 2000);
      what = "did not report its port within 20 s and was killed";
    } else {
      what = "failed to start: " + detail::describe_exit(status);
    }
    std::cerr << "troupe start: the node daemon (pid " << pid << ") " << what << "\nlog "
              << log.string() << ":\n"
              << log_tail(log, 10);
    return 1;
  }
  node_record rec{pid, advertised_host(f.bind) + ":" + std::to_string(port),
                  tools::process_exe(pid), process_start_time(pid), pid_file(pid), f.address};
  write_record(rec);
  print_started(rec.address, f.address);
  std::cout << "node pid " << pid << ", log " << log.string() << "\n";
  return 0;
}

int start_blocking(const start_flags& f, const resource_map& resources) {
  node_options opts;
  opts.bind = f.bind;
  opts.port = f.port;
  opts.resources = resources;
  if (f.num_cpus >= 0)
    opts.resources["CPU"] = f.num_cpus;
  if (f.num_gpus > 0)
    opts.resources["GPU"] = f.num_gpus;
  opts.object_store_bytes = f.object_store_memory;
  opts.max_job_store_bytes = f.max_job_store_bytes;
  opts.head_address = f.address;
  opts.spill_dir = f.spill_dir;
  opts.state = state_of(f);
  opts.head_grace_seconds = f.head_grace;
  opts.actor_hosts = f.actor_hosts;
  opts.max_actors_per_host = f.max_actors_per_host;
  opts.metrics_port = f.metrics_port;
  opts.metrics_bind = f.metrics_bind;
  opts.dashboard_port = f.dashboard_port;
  opts.dashboard_bind = f.dashboard_bind;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("cannot create a pipe");
  // run_node closes the write end only once it wrote the port: when it fails
  // before, the announcer learns it from `done`, not from an end of file.
  opts.ready_fd = fds[1];
  std::atomic<bool> done{false};
  auto file = pid_file(::getpid());
  std::thread announcer([&] {
    auto port = read_port(fds[0], std::chrono::hours(24 * 365), &done);
    if (port == 0)
      return;
    node_record rec{::getpid(), advertised_host(f.bind) + ":" + std::to_string(port),
                    detail::self_exe(), process_start_time(::getpid()), file, f.address};
    write_record(rec);
    print_started(rec.address, f.address);
  });
  auto rc = run_node(opts);
  done = true;
  announcer.join();
  ::close(fds[0]);
  std::error_code ec;
  fs::remove(file, ec);
  return rc;
}

/// Waits up to `timeout` for `rec`'s process to end.
bool wait_gone(const node_record& rec, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (process_start_time(rec.pid) != rec.start_time)
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return process_start_time(rec.pid) != rec.start_time;
}

} // namespace

int run_start(const start_flags& f) {
  if (f.head == !f.address.empty()) {
    std::cerr << "troupe start: pass either --head (start a cluster) or --address "
                 "HOST:PORT (join the cluster whose head is there)\n";
    return 2;
  }
  resource_map resources;
  try {
    resources = sched::parse_resources(f.resources);
  } catch (const std::invalid_argument& e) {
    std::cerr << "troupe start: bad --resources: " << e.what() << "\n";
    return 2;
  }
  try {
    settle_token(f);
  } catch (const std::exception& e) {
    std::cerr << "troupe start: " << e.what() << "\n";
    return 2;
  }
  try {
    return f.block ? start_blocking(f, resources) : start_background(f);
  } catch (const std::exception& e) {
    std::cerr << "troupe start: " << e.what() << "\n";
    return 1;
  }
}

int run_stop() {
  auto records = read_records();
  if (records.empty()) {
    std::cout << "no troupe nodes are running (no pid files in " << state_dir().string()
              << ")\n";
    return 0;
  }
  int rc = 0;
  for (auto& rec : records) {
    std::error_code ec;
    if (!is_alive(rec)) {
      fs::remove(rec.file, ec);
      std::cout << "node " << rec.pid << " at " << rec.address
                << " was no longer running; removed its pid file\n";
      continue;
    }
    if (::kill(rec.pid, SIGTERM) != 0) {
      std::cerr << "troupe stop: cannot signal node " << rec.pid << ": "
                << std::strerror(errno) << "\n";
      rc = 1;
      continue;
    }
    bool killed = false;
    if (!wait_gone(rec, 5s)) {
      ::kill(rec.pid, SIGKILL);
      killed = true;
      wait_gone(rec, 2s);
    }
    fs::remove(rec.file, ec);
    std::cout << (killed ? "killed" : "stopped") << " node " << rec.pid << " at "
              << rec.address << (killed ? " (it did not stop within 5 s)" : "") << "\n";
    // An empty log says nothing: drop it. One with warnings stays for reading.
    auto log = state_dir() / ("node-" + std::to_string(rec.pid) + ".log");
    if (fs::exists(log, ec) && fs::file_size(log, ec) == 0)
      fs::remove(log, ec);
    else if (fs::exists(log, ec))
      std::cout << "  its log: " << log.string() << "\n";
  }
  return rc;
}

std::string default_address() {
  std::vector<node_record> alive;
  for (auto& rec : read_records())
    if (is_alive(rec) && rec.head.empty())
      alive.push_back(rec);
  if (alive.empty())
    throw std::runtime_error("no running node found in " + state_dir().string() +
                             ": start one with `troupe start --head` or pass --address");
  if (alive.size() > 1) {
    std::string list;
    for (auto& rec : alive)
      list += " " + rec.address;
    throw std::runtime_error("several heads are running (" + list.substr(1) +
                             "): pass --address");
  }
  return alive.front().address;
}

} // namespace troupe::tools
