// `troupe job` (jobs.hpp): submit, list, status, logs and stop of the
// driver programs a cluster's head runs.
#include "tools/jobs.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/job_table.hpp"
#include "actors/node_logs.hpp"
#include "lib/common/exe_files.hpp"
#include "lib/core/exe_server.hpp"
#include "tools/cli_session.hpp"
#include "tools/format.hpp"
#include "tools/logs.hpp"
#include "tools/progress.hpp"

namespace troupe::tools {

namespace {

namespace fs = std::filesystem;

constexpr auto poll_interval = std::chrono::milliseconds(200);

double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// The text of an error a job manager answered with ("no job 9 ..."), else
/// CAF's rendering of it.
std::string error_text(caf::actor_system& sys, const caf::error& e) {
  if (e.context().match_elements<std::string>())
    return e.context().get_as<std::string>(0);
  return sys.render(e);
}

/// Asks the head's job manager; throws std::runtime_error with its answer.
template <class R, class... Ts>
R ask(cli_session& s, const job_manager_actor& jobs, Ts&&... xs) {
  auto r = detail::try_ask<R>(s.system(), jobs, s.timeout, std::forward<Ts>(xs)...);
  if (!r)
    throw std::runtime_error(error_text(s.system(), r.error()));
  return std::move(*r);
}

/// The head's job manager, from the cluster's node list.
job_manager_actor job_manager(cli_session& s) {
  for (auto& n : s.nodes().nodes)
    if (n.node_id == 1) {
      if (!n.alive || !n.jobs)
        throw std::runtime_error("the cluster's head is down: it runs the jobs");
      return n.jobs;
    }
  throw std::runtime_error("the cluster has no head");
}

/// Returns the absolute path of program `name` (a path, or a name on PATH);
/// throws std::runtime_error saying why there is none to run.
std::string find_program(const std::string& name) {
  auto runnable = [](const fs::path& p) {
    return fs::is_regular_file(p) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    auto p = fs::absolute(name).lexically_normal();
    if (!fs::exists(p))
      throw std::runtime_error("no program " + name + ": there is no such file");
    if (!runnable(p))
      throw std::runtime_error("cannot run " + name + ": it is not an executable file");
    return p.string();
  }
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
  for (std::size_t from = 0; from <= path.size();) {
    auto colon = path.find(':', from);
    auto dir = path.substr(from, colon == std::string::npos ? std::string::npos : colon - from);
    if (!dir.empty() && runnable(fs::path{dir} / name))
      return (fs::path{dir} / name).string();
    if (colon == std::string::npos)
      break;
    from = colon + 1;
  }
  throw std::runtime_error("no program " + name + " on PATH (give a path to run a file)");
}

std::string seconds(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), x < 10 ? "%.1f s" : "%.0f s", x);
  return buf;
}

std::string duration_of(const submitted_job& r) {
  if (r.started == 0)
    return "";
  return seconds((r.ended > 0 ? r.ended : now()) - r.started);
}

std::string local_time(double t) {
  if (t <= 0)
    return "-";
  auto secs = static_cast<std::time_t>(t);
  char buf[32];
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

/// The final line of a job: `job 3 SUCCEEDED: exited with status 0 (1.2 s)`.
std::string ending(const submitted_job& r) {
  auto d = duration_of(r);
  return "job " + std::to_string(r.id) + " " + r.state
         + (r.message.empty() ? "" : ": " + r.message) + (d.empty() ? "" : " (" + d + ")");
}

/// What a PENDING job waits for, with the bytes of its program sent so far.
std::string pending_text(const submitted_job& r, std::uint64_t sent, std::uint64_t size) {
  auto text = "job " + std::to_string(r.id) + " PENDING";
  if (sent > 0 && size > 0)
    text += ": sending its program, " + std::to_string(sent * 100 / size) + "% of "
            + std::to_string(size >> 20) + " MiB";
  return text;
}

/// Prints job `id`'s output from `offset` as it comes, with its state on
/// `line`, until it ends; returns its last row.
submitted_job follow(cli_session& s, const job_manager_actor& jobs, std::uint64_t id,
                     std::uint64_t offset, progress_line& line,
                     const std::function<std::string(const submitted_job&)>& describe) {
  for (;;) {
    // The state first: once it has ended, what is read after it is all.
    auto row = ask<submitted_job>(s, jobs, status_atom::value, id);
    for (;;) {
      auto chunk = ask<std::string>(s, jobs, log_atom::value, id, offset, max_log_read);
      if (chunk.empty())
        break;
      line.clear();
      std::cout << chunk << std::flush;
      offset += chunk.size();
    }
    if (job_ended(row.state))
      return row;
    line.show(describe(row));
    std::this_thread::sleep_for(poll_interval);
  }
}

std::string running_text(const submitted_job& r) {
  if (r.state == "PENDING")
    return "job " + std::to_string(r.id) + " PENDING";
  return "job " + std::to_string(r.id) + " " + r.state + " (pid " + std::to_string(r.pid) + ")";
}

int submit(cli_session& s, const job_options& o) {
  job_submission sub;
  sub.exe = find_program(o.command.front());
  sub.args.assign(o.command.begin() + 1, o.command.end());
  for (auto& e : o.env) {
    if (e.find('=') == std::string::npos || e.front() == '=')
      throw std::invalid_argument("--env " + e + ": not NAME=VALUE");
    sub.env.push_back(e);
  }
  sub.hash = detail::file_sha256(sub.exe);
  auto size = fs::file_size(sub.exe);
  auto sent = std::make_shared<std::atomic<std::uint64_t>>(0);
  sub.source = detail::spawn_file_server(s.system(), sub.exe, sent);
  // The session's actor system waits for its actors when it ends.
  struct stopper {
    exe_source_actor src;
    ~stopper() { caf::anon_send_exit(src, caf::exit_reason::user_shutdown); }
  } stop_source{sub.source};
  auto jobs = job_manager(s);
  auto row = ask<submitted_job>(s, jobs, submit_atom::value, sub);
  progress_line line;
  line.note("job " + std::to_string(row.id) + " submitted: " + row.entrypoint);
  auto describe = [&](const submitted_job& r) {
    return r.state == "PENDING" ? pending_text(r, sent->load(), size) : running_text(r);
  };
  if (o.no_wait) {
    // The head may still fetch the program from us: stay until it has.
    while (row.state == "PENDING") {
      line.show(describe(row));
      std::this_thread::sleep_for(poll_interval);
      row = ask<submitted_job>(s, jobs, status_atom::value, row.id);
    }
    line.clear();
    std::cout << row.id << "\n";
    return row.state == "FAILED" ? 1 : 0;
  }
  row = follow(s, jobs, row.id, 0, line, describe);
  line.note(ending(row));
  return row.state == "SUCCEEDED" ? 0 : 1;
}

int list(cli_session& s, const job_options& o) {
  auto rows = ask<submitted_jobs>(s, job_manager(s), jobs_atom::value).rows;
  if (o.json) {
    auto out = nlohmann::json::array();
    for (auto& r : rows)
      out.push_back(submitted_job_json<nlohmann::json>(r));
    std::cout << out.dump() << "\n";
    return 0;
  }
  table t;
  t.rows.push_back({"ID", "STATE", "DURATION", "SUBMITTED", "ENTRYPOINT", "MESSAGE"});
  for (auto& r : rows)
    t.rows.push_back({std::to_string(r.id), r.state, duration_of(r), local_time(r.submitted),
                      r.entrypoint, r.message});
  t.print();
  return 0;
}

int status(cli_session& s, const job_options& o) {
  auto r = ask<submitted_job>(s, job_manager(s), status_atom::value, o.id);
  if (o.json) {
    std::cout << submitted_job_json<nlohmann::json>(r).dump() << "\n";
    return 0;
  }
  std::cout << "job " << r.id << ": " << r.state << "\n"
            << "  entrypoint: " << r.entrypoint << "\n";
  if (!r.message.empty())
    std::cout << "  message:    " << r.message << "\n";
  if (r.pid > 0)
    std::cout << "  pid:        " << r.pid << " on the head\n";
  std::cout << "  submitted:  " << local_time(r.submitted) << "\n";
  if (r.started > 0)
    std::cout << "  started:    " << local_time(r.started) << ", ran " << duration_of(r) << "\n";
  std::cout << "  output:     " << r.output << " in the head's session folder (troupe job logs "
            << r.id << ")\n";
  return 0;
}

int logs(cli_session& s, const job_options& o) {
  auto jobs = job_manager(s);
  std::string text;
  for (;;) {
    auto chunk = ask<std::string>(s, jobs, log_atom::value, o.id,
                                  static_cast<std::uint64_t>(text.size()), max_log_read);
    if (chunk.empty())
      break;
    text += chunk;
  }
  std::cout << (o.tail >= 0 ? last_lines(text, static_cast<std::size_t>(o.tail)) : text)
            << std::flush;
  if (!o.follow)
    return 0;
  progress_line line;
  auto row = follow(s, jobs, o.id, text.size(), line, running_text);
  line.note(ending(row));
  return 0;
}

int stop(cli_session& s, const job_options& o) {
  auto jobs = job_manager(s);
  auto row = ask<submitted_job>(s, jobs, stop_atom::value, o.id);
  progress_line line;
  while (!o.no_wait && !job_ended(row.state)) {
    line.show("stopping job " + std::to_string(row.id));
    std::this_thread::sleep_for(poll_interval);
    row = ask<submitted_job>(s, jobs, status_atom::value, o.id);
  }
  line.clear();
  std::cout << (job_ended(row.state) ? ending(row)
                                     : "job " + std::to_string(row.id) + " is stopping")
            << "\n";
  return 0;
}

void add_address(CLI::App* cmd, job_options& o) {
  cmd->add_option("--address", o.address,
                  "HOST:PORT of any node of the cluster (default: the head started here)");
}

} // namespace

void add_job_commands(CLI::App& app, job_commands& c) {
  auto& o = c.options;
  c.job = app.add_subcommand("job", "run driver programs on the cluster's head, with their "
                                    "output kept there: submit, list, status, logs, stop");
  c.job->require_subcommand(1);
  c.submit = c.job->add_subcommand(
    "submit", "run PROG ARGS on the head (after --), print its output until it ends; exits "
              "0 when it succeeded");
  add_address(c.submit, o);
  c.submit->add_option("--env", o.env, "NAME=VALUE for the program (repeatable)")
    ->allow_extra_args(false);
  c.submit->add_flag("--no-wait", o.no_wait,
                     "print the job's id once it runs, instead of its output");
  c.submit->add_option("command", o.command, "the program (a path, or a name on PATH) and "
                                             "its arguments")
    ->required();
  c.list = c.job->add_subcommand("list", "list the submitted jobs");
  add_address(c.list, o);
  c.list->add_flag("--json", o.json, "print one JSON array");
  c.status = c.job->add_subcommand("status", "show one job");
  add_address(c.status, o);
  c.status->add_option("id", o.id, "the job's id")->required();
  c.status->add_flag("--json", o.json, "print one JSON object");
  c.logs = c.job->add_subcommand("logs", "print what a job wrote to stdout and stderr");
  add_address(c.logs, o);
  c.logs->add_option("id", o.id, "the job's id")->required();
  c.logs->add_flag("--follow,-f", o.follow, "keep printing until the job ends");
  c.logs->add_option("--tail", o.tail, "print only the last N lines")
    ->check(CLI::NonNegativeNumber);
  c.stop = c.job->add_subcommand("stop", "stop a job: SIGTERM to its processes, SIGKILL "
                                         "after a grace period");
  add_address(c.stop, o);
  c.stop->add_option("id", o.id, "the job's id")->required();
  c.stop->add_flag("--no-wait", o.no_wait, "do not wait for it to end");
}

int run_job_command(const job_commands& c) {
  const char* name = *c.submit ? "job submit"
                     : *c.list ? "job list"
                     : *c.status ? "job status"
                     : *c.logs ? "job logs"
                               : "job stop";
  auto& o = c.options;
  return run_on_cluster(name, o.address, [&](cli_session& s) {
    if (*c.submit)
      return submit(s, o);
    if (*c.list)
      return list(s, o);
    if (*c.status)
      return status(s, o);
    if (*c.logs)
      return logs(s, o);
    return stop(s, o);
  });
}

} // namespace troupe::tools
