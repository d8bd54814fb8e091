#include "actors/head_records.hpp"

namespace troupe {

namespace {

constexpr const char* nodes_table = "nodes";
constexpr const char* jobs_table = "jobs";
constexpr const char* actors_table = "actors";
constexpr const char* head_table = "head";
constexpr const char* groups_table = "groups";

} // namespace

head_records::head_records(std::unique_ptr<state_store> store) : store_(std::move(store)) {}

void head_records::node(const node_info& n) {
  std::lock_guard guard{mutex_};
  batch_[{nodes_table, number_key(n.node_id)}] = encode_node(n);
}

void head_records::job(const job_record& j) {
  std::lock_guard guard{mutex_};
  batch_[{jobs_table, number_key(j.id)}] = encode_job(j);
}

void head_records::actor(const actor_entry& e) {
  std::lock_guard guard{mutex_};
  batch_[{actors_table, actor_key(e.rec.id)}] = encode_actor(e);
}

void head_records::counters(std::uint64_t next_job) {
  std::lock_guard guard{mutex_};
  batch_[{head_table, "counters"}] = encode_counters(next_job);
}

void head_records::group(const group_spec& spec, const group_state& state) {
  auto bytes = encode_group(spec, state);
  std::lock_guard guard{mutex_};
  batch_[{groups_table, number_key(spec.id)}] = std::move(bytes);
}

void head_records::erase_group(std::uint64_t id) {
  std::lock_guard guard{mutex_};
  batch_[{groups_table, number_key(id)}] = std::nullopt;
}

void head_records::group_counter(std::uint64_t next_group) {
  auto bytes = encode_group_counter(next_group);
  std::lock_guard guard{mutex_};
  batch_[{head_table, "groups"}] = std::move(bytes);
}

void head_records::flush() {
  std::lock_guard guard{mutex_};
  if (batch_.empty())
    return;
  std::vector<state_store::write> writes;
  writes.reserve(batch_.size());
  for (auto& [key, value] : batch_)
    writes.push_back({key.first, key.second, value});
  store_->apply(writes);
  batch_.clear();
}

head_snapshot head_records::load() {
  std::lock_guard guard{mutex_};
  head_snapshot s;
  for (auto& [key, value] : store_->load(nodes_table))
    s.nodes.push_back(decode_node(value));
  for (auto& [key, value] : store_->load(jobs_table))
    s.jobs.push_back(decode_job(value));
  for (auto& [key, value] : store_->load(actors_table))
    s.actors.push_back(decode_actor(value));
  for (auto& [key, value] : store_->load(head_table))
    if (key == "counters")
      s.next_job = decode_counters(value);
  return s;
}

sched::group_keeper::restored head_records::load_groups() {
  std::lock_guard guard{mutex_};
  sched::group_keeper::restored r;
  for (auto& [key, value] : store_->load(groups_table))
    r.groups.push_back(decode_group(value));
  for (auto& [key, value] : store_->load(head_table))
    if (key == "groups")
      r.next_group = decode_group_counter(value);
  for (auto& [key, value] : store_->load(nodes_table)) {
    auto n = decode_node(value);
    if (n.alive)
      r.nodes.push_back(n.node_id);
  }
  return r;
}

} // namespace troupe
