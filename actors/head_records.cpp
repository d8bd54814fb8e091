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
constexpr const char* groups_table = "groups";

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

/// Writes `m` into a list of Resource (as `initList(m.size())` made it).
void write_resources(capnp::List<schema::Resource>::Builder list, const resource_map& m) {
  unsigned i = 0;
  for (auto& [name, amount] : m) {
    list[i].setName(name);
    list[i++].setAmount(amount);
  }
}

resource_map read_resources(capnp::List<schema::Resource>::Reader list) {
  resource_map m;
  for (auto x : list)
    m[x.getName()] = x.getAmount();
  return m;
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
  write_resources(r.initTotal(static_cast<unsigned>(n.total.size())), n.total);
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
  n.total = read_resources(r.getTotal());
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
  if (!e.creation.empty()) {
    auto c = r.initCreation();
    c.setSpec(kj::arrayPtr(reinterpret_cast<const kj::byte*>(e.creation.spec.data()),
                           e.creation.spec.size()));
    c.setExe(e.creation.exe);
    write_resources(c.initResources(static_cast<unsigned>(e.creation.resources.size())),
                    e.creation.resources);
    auto& st = e.creation.strategy;
    c.setStrategy(static_cast<std::uint8_t>(st.type));
    c.setNode(st.node);
    c.setSoft(st.soft);
    c.setGroup(st.group);
    c.setBundle(st.bundle);
  }
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
  if (r.hasCreation() && r.getCreation().getSpec().size() > 0) {
    auto c = r.getCreation();
    auto spec = c.getSpec();
    e.creation.id = e.rec.id;
    e.creation.spec.assign(spec.begin(), spec.end());
    e.creation.exe = c.getExe();
    e.creation.resources = read_resources(c.getResources());
    if (c.getStrategy() > static_cast<std::uint8_t>(scheduling_strategy::kind::placement_group))
      throw error(error_kind::protocol, "a stored actor creation has strategy "
                                          + std::to_string(c.getStrategy()));
    e.creation.strategy.type = static_cast<scheduling_strategy::kind>(c.getStrategy());
    e.creation.strategy.node = c.getNode();
    e.creation.strategy.soft = c.getSoft();
    e.creation.strategy.group = c.getGroup();
    e.creation.strategy.bundle = c.getBundle();
  }
  return e;
}

std::string encode_group(const group_spec& spec, const group_state& state) {
  capnp::MallocMessageBuilder b;
  auto r = b.initRoot<schema::GroupRecord>();
  r.setId(spec.id);
  auto bundles = r.initBundles(static_cast<unsigned>(spec.bundles.size()));
  for (unsigned i = 0; i < spec.bundles.size(); ++i)
    write_resources(bundles[i].initResources(static_cast<unsigned>(spec.bundles[i].size())),
                    spec.bundles[i]);
  r.setStrategy(static_cast<std::uint8_t>(spec.strategy));
  r.setState(state.state);
  auto nodes = r.initNodes(static_cast<unsigned>(state.nodes.size()));
  for (unsigned i = 0; i < state.nodes.size(); ++i)
    nodes.set(i, state.nodes[i]);
  r.setWhy(state.why);
  return bytes_of(b);
}

std::pair<group_spec, group_state> decode_group(const std::string& bytes) {
  record_reader rd{bytes, "placement group"};
  auto r = rd.root<schema::GroupRecord>("placement group");
  group_spec spec;
  group_state state;
  spec.id = state.id = r.getId();
  for (auto bundle : r.getBundles())
    spec.bundles.push_back(read_resources(bundle.getResources()));
  if (r.getStrategy() > static_cast<std::uint8_t>(placement_strategy::strict_spread)
      || r.getState() > group_state::infeasible)
    throw error(error_kind::protocol, "a stored placement group record has strategy "
                                        + std::to_string(r.getStrategy()) + " and state "
                                        + std::to_string(r.getState()));
  spec.strategy = static_cast<placement_strategy>(r.getStrategy());
  state.state = r.getState();
  for (auto n : r.getNodes())
    state.nodes.push_back(n);
  if (state.state == group_state::placed && state.nodes.size() != spec.bundles.size())
    throw error(error_kind::protocol, "a stored placed group has "
                                        + std::to_string(state.nodes.size()) + " nodes for "
                                        + std::to_string(spec.bundles.size()) + " bundles");
  state.why = r.getWhy();
  return {std::move(spec), std::move(state)};
}

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
  capnp::MallocMessageBuilder b;
  b.initRoot<schema::HeadCounters>().setNextJob(next_job);
  batch_[{head_table, "counters"}] = bytes_of(b);
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
  capnp::MallocMessageBuilder b;
  b.initRoot<schema::GroupCounter>().setNextGroup(next_group);
  auto bytes = bytes_of(b);
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
    if (key == "counters") {
      record_reader rd{value, "counters"};
      s.next_job = rd.root<schema::HeadCounters>("counters").getNextJob();
    }
  return s;
}

sched::group_keeper::restored head_records::load_groups() {
  std::lock_guard guard{mutex_};
  sched::group_keeper::restored r;
  for (auto& [key, value] : store_->load(groups_table))
    r.groups.push_back(decode_group(value));
  for (auto& [key, value] : store_->load(head_table))
    if (key == "groups") {
      record_reader rd{value, "group counter"};
      r.next_group = rd.root<schema::GroupCounter>("group counter").getNextGroup();
    }
  for (auto& [key, value] : store_->load(nodes_table)) {
    auto n = decode_node(value);
    if (n.alive)
      r.nodes.push_back(n.node_id);
  }
  return r;
}

} // namespace troupe
