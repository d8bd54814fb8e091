// The head's job manager (job_manager.hpp).
#include "actors/job_manager.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <signal.h>
#include <unistd.h>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/job_table.hpp"
#include "actors/node_logs.hpp"
#include "lib/common/exe_files.hpp"
#include "lib/common/process.hpp"
#include "lib/protocol/messages.hpp"
#include "scheduler/exe_fetcher.hpp"

namespace troupe {

namespace {

namespace fs = std::filesystem;

struct job_manager_state {
  job_table table;
  job_manager_options opts;
  std::string address; ///< HOST:PORT of the head, for TROUPE_ADDRESS
  std::map<std::uint64_t, job_submission> waiting; ///< PENDING jobs' submissions
  std::map<std::string, std::vector<std::uint64_t>> fetching; ///< hash -> jobs
  static inline const char* name = "troupe.job_manager";
};

using self_ptr = job_manager_actor::stateful_pointer<job_manager_state>;

double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// What a job keeps of the head's environment: its security, its session
/// and the transport's tuning, no node setting (TROUPE_ROLE would make it
/// a node daemon).
const std::vector<std::string> kept_variables = {
  "TROUPE_TOKEN", "TROUPE_INSECURE", "TROUPE_SESSION_DIR", "TROUPE_LOG_DIR",
  "TROUPE_LOG_LEVEL", "TROUPE_EXE_CACHE", "TROUPE_HEARTBEAT_MS",
  "TROUPE_CONNECTION_TIMEOUT_MS", "TROUPE_CONNECT_TIMEOUT_MS",
  "TROUPE_HANDSHAKE_TIMEOUT_MS", "TROUPE_MAX_MESSAGE_BYTES"};

void start_job(self_ptr self, std::uint64_t id, const std::string& program) {
  auto& s = self->state;
  auto it = s.waiting.find(id);
  if (it == s.waiting.end())
    return;
  auto sub = std::move(it->second);
  s.waiting.erase(it);
  auto* row = s.table.find(id);
  if (!row || row->state != "PENDING")
    return; // stopped meanwhile
  auto dir = fs::path{s.opts.session_dir};
  auto cwd = dir / ("job-" + std::to_string(id));
  std::error_code ec;
  fs::create_directories(cwd, ec);
  auto out = dir / row->output;
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    s.table.start_failed(id, "cannot open " + out.string() + ": " + std::strerror(errno), now());
    return;
  }
  detail::child_spec spec;
  spec.exe = program;
  spec.args = sub.args;
  spec.env = sub.env;
  spec.env.push_back("TROUPE_ADDRESS=" + s.address);
  spec.env.push_back("TROUPE_JOB_SUBMISSION=" + std::to_string(id));
  spec.drop = {"TROUPE_*"};
  spec.keep = kept_variables;
  spec.output_fd = fd;
  spec.cwd = cwd.string();
  spec.own_group = true;
  try {
    auto pid = detail::spawn_child(spec);
    ::close(fd);
    spdlog::info("job {} runs as pid {}: {}", id, pid, row->entrypoint);
    if (!s.table.started(id, pid, now()))
      ::kill(-pid, SIGKILL);
  } catch (const std::exception& e) {
    ::close(fd);
    s.table.start_failed(id, e.what(), now());
  }
}

/// Starts job `id` with its program on the head, fetched first when the
/// head lacks it.
void resolve_program(self_ptr self, std::uint64_t id, const job_submission& sub) {
  auto& s = self->state;
  if (detail::file_has_hash(sub.exe, sub.hash)) {
    start_job(self, id, sub.exe);
    return;
  }
  auto cached = detail::exe_cache_dir() / sub.hash;
  if (detail::file_has_hash(cached.string(), sub.hash)) {
    start_job(self, id, cached.string());
    return;
  }
  auto& waiters = s.fetching[sub.hash];
  waiters.push_back(id);
  if (waiters.size() > 1)
    return; // a fetch is under way
  spdlog::info("job {}: fetching {} ({}) from the submitter", id, sub.exe, sub.hash);
  sched::spawn_exe_fetcher(self->system(), sub.hash, sub.hash, cached, sub.source,
                           job_manager_actor{self}, sub.exe + " from the submitter");
}

caf::error fail(const std::exception& e) {
  return caf::make_error(caf::sec::runtime_error, e.what());
}

caf::result<submitted_job> submit_job(self_ptr self, job_submission sub) {
  auto& s = self->state;
  if (s.opts.session_dir.empty() || s.address.empty())
    return caf::make_error(caf::sec::runtime_error,
                           "this head cannot run jobs: it has no session folder");
  if (sub.exe.empty() || sub.hash.size() != 64)
    return caf::make_error(caf::sec::runtime_error, "a job needs a program and its SHA-256");
  auto id = s.table.submit(sub, now()).id;
  // Its output file exists from the start: `job logs` reads it at once.
  auto out = fs::path{s.opts.session_dir} / s.table.get(id).output;
  if (int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644); fd >= 0)
    ::close(fd);
  s.waiting.emplace(id, sub);
  resolve_program(self, id, sub);
  return s.table.get(id);
}

/// A fetch of the program with SHA-256 `hash` ended: in `path`, or failed
/// with `why` ("cannot fetch PROG from the submitter: ..."). Starts (or
/// fails) the jobs that waited for it.
void fetched(self_ptr self, const std::string& hash, const std::string& path,
             const std::string& why) {
  auto& s = self->state;
  auto waiters = std::move(s.fetching[hash]);
  s.fetching.erase(hash);
  for (auto id : waiters) {
    if (!path.empty()) {
      start_job(self, id, path);
      continue;
    }
    s.waiting.erase(id);
    s.table.start_failed(id, why, now());
  }
}

job_manager_actor::behavior_type job_manager(self_ptr self, job_manager_options opts) {
  self->state.opts = std::move(opts);
  // The node daemon stops it with an exit message: its jobs end with the
  // head. (Not in an attached functor: CAF destroys the state before those.)
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, pid] : self->state.table.running()) {
      spdlog::info("the head stops: SIGTERM to job {} (pid {})", id, pid);
      ::kill(-pid, SIGTERM);
    }
    self->quit(msg.reason);
  });
  return {
    [self](submit_atom, job_submission& sub) { return submit_job(self, std::move(sub)); },
    [self](jobs_atom) { return self->state.table.list(); },
    [self](status_atom, std::uint64_t id) -> caf::result<submitted_job> {
      try {
        return self->state.table.get(id);
      } catch (const std::exception& e) {
        return fail(e);
      }
    },
    [self](stop_atom, std::uint64_t id) -> caf::result<submitted_job> {
      auto& s = self->state;
      try {
        if (s.table.stop(id, now()) == job_table::stop_action::signal) {
          auto pid = s.table.get(id).pid;
          spdlog::info("stopping job {} (pid {})", id, pid);
          ::kill(-pid, SIGTERM);
          self->delayed_send(self, s.opts.grace, kill_atom::value, id);
        }
        return s.table.get(id);
      } catch (const std::exception& e) {
        return fail(e);
      }
    },
    [self](log_atom, std::uint64_t id, std::uint64_t offset,
           std::uint64_t max) -> caf::result<std::string> {
      auto& s = self->state;
      try {
        return read_log_file(s.opts.session_dir, s.table.get(id).output, offset, max);
      } catch (const std::exception& e) {
        return fail(e);
      }
    },
    [self](exe_atom, const std::string& hash, const std::string& path,
           const std::string& why) { fetched(self, hash, path, why); },
    [self](child_atom, std::int32_t pid, std::int32_t status) {
      if (auto id = self->state.table.exited(pid, status, now()))
        spdlog::info("job {} ended: {}", *id, self->state.table.get(*id).message);
    },
    [self](kill_atom, std::uint64_t id) {
      auto* row = self->state.table.find(id);
      if (row && row->state == "RUNNING" && row->pid > 0) {
        spdlog::warn("job {} did not stop on SIGTERM: killing it", id);
        ::kill(-row->pid, SIGKILL);
      }
    },
    [self](node_atom, const node_info& n) {
      self->state.address = n.host + ":" + std::to_string(n.port);
    },
  };
}

} // namespace

job_manager_actor spawn_job_manager(caf::actor_system& sys, job_manager_options opts) {
  return sys.spawn(job_manager, std::move(opts));
}

} // namespace troupe
