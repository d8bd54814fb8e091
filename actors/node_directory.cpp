#include "actors/node_directory.hpp"

#include <algorithm>

namespace troupe {

node_info node_directory::add(node_info n) {
  auto known = nodes_.find(n.node_id);
  if (n.node_id == 0 || known == nodes_.end() || !known->second.alive)
    n.node_id = nodes_.empty() ? 1 : nodes_.rbegin()->first + 1;
  n.alive = true;
  nodes_[n.node_id] = n;
  changed_node(n.node_id);
  return n;
}

std::vector<std::uint64_t> node_directory::take_changed_nodes() {
  std::vector<std::uint64_t> out{changed_nodes_.begin(), changed_nodes_.end()};
  changed_nodes_.clear();
  return out;
}

std::vector<std::uint64_t> node_directory::take_changed_jobs() {
  std::vector<std::uint64_t> out{changed_jobs_.begin(), changed_jobs_.end()};
  changed_jobs_.clear();
  return out;
}

void node_directory::restore(const std::vector<node_info>& nodes,
                             const std::vector<job_record>& jobs, std::uint64_t next_job) {
  for (auto& n : nodes)
    nodes_[n.node_id] = n;
  for (auto& j : jobs)
    jobs_[j.id] = j;
  next_job_ = std::max(next_job_, next_job);
}

bool node_directory::resume_job(std::uint64_t job_id, const job_spec& spec) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || !it->second.alive)
    return false;
  it->second.core = spec.core;
  it->second.log_to_driver = spec.log_to_driver;
  return true;
}

core_actor node_directory::output_driver(std::uint64_t job_id) const {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || !it->second.alive || !it->second.log_to_driver)
    return {};
  return it->second.core;
}

bool node_directory::mark_dead(std::uint64_t node_id) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || !it->second.alive)
    return false;
  it->second.alive = false;
  changed_node(node_id);
  return true;
}

node_info* node_directory::find(std::uint64_t node_id) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end())
    return nullptr;
  changed_node(node_id); // the caller may change it
  return &it->second;
}

const node_info* node_directory::alive(std::uint64_t node_id) const {
  auto it = nodes_.find(node_id);
  return it == nodes_.end() || !it->second.alive ? nullptr : &it->second;
}

node_list node_directory::list() const {
  node_list out;
  for (auto& [id, n] : nodes_)
    out.nodes.push_back(n);
  return out;
}

std::uint64_t node_directory::add_job(const job_spec& spec) {
  auto id = next_job_++;
  jobs_[id] = {id,   spec.pid,     spec.exe,      spec.embedded,
               true, spec.node_id, spec.exe_hash, spec.core, spec.log_to_driver};
  changed_job(id);
  return id;
}

std::optional<job_record> node_directory::end_job(std::uint64_t job_id) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || !it->second.alive)
    return std::nullopt;
  it->second.alive = false;
  changed_job(job_id);
  return it->second;
}

std::optional<job_record> node_directory::end_job_of(const caf::actor_addr& core) {
  for (auto& [id, j] : jobs_)
    if (j.alive && j.core && j.core.address() == core)
      return end_job(id);
  return std::nullopt;
}

std::vector<job_record> node_directory::end_jobs_on(std::uint64_t node_id) {
  std::vector<job_record> out;
  for (auto& [id, j] : jobs_)
    if (j.alive && j.node_id == node_id) {
      j.alive = false;
      changed_job(id);
      out.push_back(j);
    }
  return out;
}

std::vector<job_record> node_directory::live_jobs() const {
  std::vector<job_record> out;
  for (auto& [id, j] : jobs_)
    if (j.alive)
      out.push_back(j);
  return out;
}

} // namespace troupe
