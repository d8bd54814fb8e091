// The head's submitted jobs and their states (job_table.hpp).
#include "actors/job_table.hpp"

#include <stdexcept>
#include <sys/wait.h>

#include "lib/common/process.hpp"

namespace troupe {

namespace {

std::string quoted(const std::string& word) {
  if (!word.empty() && word.find_first_of(" \t\n'\"\\$`") == std::string::npos)
    return word;
  std::string out = "'";
  for (char c : word)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

} // namespace

std::string entrypoint_of(const job_submission& s) {
  auto out = quoted(s.exe);
  for (auto& a : s.args)
    out += " " + quoted(a);
  return out;
}

const submitted_job& job_table::submit(const job_submission& s, double now) {
  auto id = next_++;
  auto& r = jobs_[id];
  r.id = id;
  r.state = "PENDING";
  r.entrypoint = entrypoint_of(s);
  r.submitted = now;
  r.output = "job-" + std::to_string(id) + ".out";
  return r;
}

const submitted_job* job_table::find(std::uint64_t id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

const submitted_job& job_table::get(std::uint64_t id) const {
  if (auto* r = find(id))
    return *r;
  throw std::invalid_argument("no job " + std::to_string(id) + " was submitted to this head");
}

submitted_job& job_table::row(std::uint64_t id) {
  return const_cast<submitted_job&>(get(id));
}

bool job_table::started(std::uint64_t id, std::int32_t pid, double now) {
  auto& r = row(id);
  r.pid = pid;
  by_pid_[pid] = id;
  if (r.state != "PENDING") {
    stopping_.insert(id); // its exit leaves it STOPPED
    return false;
  }
  r.state = "RUNNING";
  r.started = now;
  return true;
}

void job_table::start_failed(std::uint64_t id, const std::string& why, double now) {
  auto& r = row(id);
  if (r.state != "PENDING")
    return;
  r.state = "FAILED";
  r.message = why;
  r.ended = now;
}

job_table::stop_action job_table::stop(std::uint64_t id, double now) {
  auto& r = row(id);
  if (r.state == "PENDING") {
    r.state = "STOPPED";
    r.message = "stopped before it started";
    r.ended = now;
    return stop_action::cancel;
  }
  if (r.state != "RUNNING")
    return stop_action::none;
  stopping_.insert(id);
  return stop_action::signal;
}

std::optional<std::uint64_t> job_table::exited(std::int32_t pid, int status, double now) {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end())
    return std::nullopt;
  auto id = it->second;
  by_pid_.erase(it);
  auto& r = row(id);
  bool stopped = stopping_.erase(id) > 0;
  r.ended = now;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (stopped) {
    if (r.state == "RUNNING")
      r.message = "stopped: " + detail::describe_exit(status);
    r.state = "STOPPED";
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    r.state = "SUCCEEDED";
    r.message = "exited with status 0";
  } else {
    r.state = "FAILED";
    r.message = detail::describe_exit(status);
  }
  return id;
}

std::map<std::uint64_t, std::int32_t> job_table::running() const {
  std::map<std::uint64_t, std::int32_t> out;
  for (auto& [pid, id] : by_pid_)
    out[id] = pid;
  return out;
}

submitted_jobs job_table::list() const {
  submitted_jobs out;
  for (auto& [id, r] : jobs_)
    out.rows.push_back(r);
  return out;
}

} // namespace troupe
