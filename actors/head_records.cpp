#include "actors/head_records.hpp"

#include <cstring>
#include <optional>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "head_state.capnp.h"
#include "lib/protocol/capnp_codec.hpp"
#include "troupe/errors.hpp"

namespace troupe {

namespace {

constexpr const char* nodes_table = "nodes";
constexpr const char* jobs_table = "jobs";
constexpr const char* actors_table = "actors";
constexpr const char* head_table = "head";

/// A key that sorts as the number does.
std::string number_key(std::uint64_t n) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, n >>= 8)
    k[static_cast<std::size_t>(i)] = static_cast<char>(n & 0xff);
  return k;
}

std::string actor_key(const object_id& id) {
  return number_key(id.owner) + number_key(id.seq);
}

std::string bytes_of(capnp::MessageBuilder& b) {
  auto words = capnp::messageToFlatArray(b);
  auto chars = words.asChars();
  return {chars.begin(), chars.end()};
}

/// Reads a record's message from its bytes (copied to words: a string's
/// bytes need not be aligned).
class record_reader {
public:
  explicit record_reader(const std::string& bytes, const char* what)
    : words_(kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word))) {
    if (bytes.size() % sizeof(capnp::word) != 0 || bytes.empty())
      throw error(error_kind::protocol, std::string{"a stored "} + what
                                          + " record is not a whole number of words");
    std::memcpy(words_.begin(), bytes.data(), bytes.size());
    try {
      reader_.emplace(words_.asPtr());
    } catch (const std::exception& e) {
      throw error(error_kind::protocol, std::string{"a stored "} + what
                                          + " record is malformed: " + e.what());
    }
  }
  template <class T>
  typename T::Reader root(const char* what) {
    try {
      return reader_->getRoot<T>();
    } catch (const std::exception& e) {
      throw error(error_kind::protocol, std::string{"a stored "} + what
                                          + " record is malformed: " + e.what());
    }
  }

private:
  kj::Array<capnp::word> words_ = nullptr;
  std::optional<capnp::FlatArrayMessageReader> reader_;
};

} // namespace

std::string encode_node(const node_info& n) {
  capnp::MallocMessageBuilder b;
  auto r = b.initRoot<schema::NodeRecord>();
  r.setNodeId(n.node_id);
  r.setHost(n.host);
  r.setPort(n.port);
  r.setSegment(n.segment);
  r.setStoreCapacity(n.store_capacity);
  auto total = r.initTotal(static_cast<unsigned>(n.total.size()));
  unsigned i = 0;
  for (auto& [name, amount] : n.total) {
    total[i].setName(name);
    total[i++].setAmount(amount);
  }
  r.setAlive(n.alive);
  return bytes_of(b);
}

node_info decode_node(const std::string& bytes) {
  record_reader rd{bytes, "node"};
  auto r = rd.root<schema::NodeRecord>("node");
  node_info n;
  n.node_id = r.getNodeId();
  n.host = r.getHost();
  n.port = r.getPort();
  n.segment = r.getSegment();
  n.store_capacity = r.getStoreCapacity();
  for (auto x : r.getTotal())
    n.total[x.getName()] = x.getAmount();
  n.alive = r.getAlive();
  return n;
}

std::string encode_job(const job_record& j) {
  capnp::MallocMessageBuilder b;
  auto r = b.initRoot<schema::JobRecord>();
  r.setId(j.id);
  r.setPid(j.pid);
  r.setExe(j.exe);
  r.setEmbedded(j.embedded);
  r.setAlive(j.alive);
  r.setNodeId(j.node_id);
  r.setExeHash(j.exe_hash);
  return bytes_of(b);
}

job_record decode_job(const std::string& bytes) {
  record_reader rd{bytes, "job"};
  auto r = rd.root<schema::JobRecord>("job");
  job_record j;
  j.id = r.getId();
  j.pid = r.getPid();
  j.exe = r.getExe();
  j.embedded = r.getEmbedded();
  j.alive = r.getAlive();
  j.node_id = r.getNodeId();
  j.exe_hash = r.getExeHash();
  return j;
}

std::string encode_actor(const actor_entry& e) {
  capnp::MallocMessageBuilder b;
  auto r = b.initRoot<schema::ActorRecord>();
  detail::write_object_id(r.initId(), e.rec.id);
  r.setClassName(e.rec.class_name);
  r.setName(e.rec.name);
  r.setNameSpace(e.rec.name_space);
  r.setDetached(e.rec.detached);
  r.setMaxRestarts(e.rec.max_restarts);
  r.setMaxTaskRetries(e.rec.max_task_retries);
  r.setPhase(static_cast<std::uint8_t>(e.phase));
  r.setWorkerId(e.worker_id);
  r.setRestarts(e.restarts);
  detail::write_error(r.initDeath(), e.death);
  r.setKillRequested(e.kill_requested);
  r.setKillRestarts(e.kill_restarts);
  r.setKillReason(e.kill_reason);
  r.setHost(e.address.host);
  r.setPort(e.address.port);
  return bytes_of(b);
}

actor_entry decode_actor(const std::string& bytes) {
  record_reader rd{bytes, "actor"};
  auto r = rd.root<schema::ActorRecord>("actor");
  actor_entry e;
  e.rec.id = detail::read_object_id(r.getId());
  e.rec.class_name = r.getClassName();
  e.rec.name = r.getName();
  e.rec.name_space = r.getNameSpace();
  e.rec.detached = r.getDetached();
  e.rec.max_restarts = r.getMaxRestarts();
  e.rec.max_task_retries = r.getMaxTaskRetries();
  if (r.getPhase() > static_cast<std::uint8_t>(actor_phase::dead))
    throw error(error_kind::protocol, "a stored actor record has phase "
                                        + std::to_string(r.getPhase()));
  e.phase = static_cast<actor_phase>(r.getPhase());
  e.worker_id = r.getWorkerId();
  e.restarts = r.getRestarts();
  e.death = detail::read_error(r.getDeath());
  e.kill_requested = r.getKillRequested();
  e.kill_restarts = r.getKillRestarts();
  e.kill_reason = r.getKillReason();
  e.address = {r.getHost(), r.getPort()};
  return e;
}

head_records::head_records(std::unique_ptr<state_store> store) : store_(std::move(store)) {}

void head_records::node(const node_info& n) {
  batch_[{nodes_table, number_key(n.node_id)}] = encode_node(n);
}

void head_records::job(const job_record& j) {
  batch_[{jobs_table, number_key(j.id)}] = encode_job(j);
}

void head_records::actor(const actor_entry& e) {
  batch_[{actors_table, actor_key(e.rec.id)}] = encode_actor(e);
}

void head_records::counters(std::uint64_t next_job) {
  capnp::MallocMessageBuilder b;
  b.initRoot<schema::HeadCounters>().setNextJob(next_job);
  batch_[{head_table, "counters"}] = bytes_of(b);
}

void head_records::flush() {
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
  head_snapshot s;
  for (auto& [key, value] : store_->load(nodes_table))
    s.nodes.push_back(decode_node(value));
  for (auto& [key, value] : store_->load(jobs_table))
    s.jobs.push_back(decode_job(value));
  for (auto& [key, value] : store_->load(actors_table))
    s.actors.push_back(decode_actor(value));
  for (auto& [key, value] : store_->load(head_table))
    if (key == "counters") {
      record_reader rd{value, "counters"};
      s.next_job = rd.root<schema::HeadCounters>("counters").getNextJob();
    }
  return s;
}

} // namespace troupe
