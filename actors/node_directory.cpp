#include "actors/node_directory.hpp"

namespace troupe {

node_info node_directory::add(node_info n) {
  n.node_id = nodes_.empty() ? 1 : nodes_.rbegin()->first + 1;
  n.alive = true;
  nodes_[n.node_id] = n;
  return n;
}

bool node_directory::mark_dead(std::uint64_t node_id) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || !it->second.alive)
    return false;
  it->second.alive = false;
  return true;
}

node_info* node_directory::find(std::uint64_t node_id) {
  auto it = nodes_.find(node_id);
  return it == nodes_.end() ? nullptr : &it->second;
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
               true, spec.node_id, spec.exe_hash, spec.core};
  return id;
}

std::optional<job_record> node_directory::end_job(std::uint64_t job_id) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || !it->second.alive)
    return std::nullopt;
  it->second.alive = false;
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
