#include "actors/head_codec.hpp"

#include <cstring>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "head_state.capnp.h"
#include "lib/protocol/capnp_codec.hpp"
#include "troupe/errors.hpp"

namespace troupe {

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

namespace {

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

/// Reads a record of schema `T` from its bytes and returns `read(root)`.
/// Cap'n Proto reads lazily, so any field's getter in `read` may find the
/// bytes malformed: its exception becomes a protocol error here.
template <class T, class F>
auto decode_record(const std::string& bytes, const char* what, F read) {
  if (bytes.size() % sizeof(capnp::word) != 0 || bytes.empty())
    throw error(error_kind::protocol, std::string{"a stored "} + what
                                        + " record is not a whole number of words");
  // Copied to words: a string's bytes need not be aligned.
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  try {
    capnp::FlatArrayMessageReader reader{words.asPtr(), detail::reader_options(words.size())};
    return read(reader.getRoot<T>());
  } catch (const kj::Exception& e) {
    throw error(error_kind::protocol, std::string{"a stored "} + what
                                        + " record is malformed: " + e.getDescription().cStr());
  }
}

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
  return decode_record<schema::NodeRecord>(bytes, "node", [](auto r) {
    node_info n;
    n.node_id = r.getNodeId();
    n.host = r.getHost();
    n.port = r.getPort();
    n.segment = r.getSegment();
    n.store_capacity = r.getStoreCapacity();
    n.total = read_resources(r.getTotal());
    n.alive = r.getAlive();
    return n;
  });
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
  return decode_record<schema::JobRecord>(bytes, "job", [](auto r) {
    job_record j;
    j.id = r.getId();
    j.pid = r.getPid();
    j.exe = r.getExe();
    j.embedded = r.getEmbedded();
    j.alive = r.getAlive();
    j.node_id = r.getNodeId();
    j.exe_hash = r.getExeHash();
    return j;
  });
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
  r.setShared(e.rec.shared);
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
  return decode_record<schema::ActorRecord>(bytes, "actor", [](auto r) {
    actor_entry e;
    e.rec.id = detail::read_object_id(r.getId());
    e.rec.class_name = r.getClassName();
    e.rec.name = r.getName();
    e.rec.name_space = r.getNameSpace();
    e.rec.detached = r.getDetached();
    e.rec.max_restarts = r.getMaxRestarts();
    e.rec.max_task_retries = r.getMaxTaskRetries();
    e.rec.shared = r.getShared();
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
  });
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
  using group = std::pair<group_spec, group_state>;
  return decode_record<schema::GroupRecord>(bytes, "placement group", [](auto r) -> group {
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
  });
}

std::string encode_counters(std::uint64_t next_job) {
  capnp::MallocMessageBuilder b;
  b.initRoot<schema::HeadCounters>().setNextJob(next_job);
  return bytes_of(b);
}

std::uint64_t decode_counters(const std::string& bytes) {
  return decode_record<schema::HeadCounters>(bytes, "counters",
                                             [](auto r) { return r.getNextJob(); });
}

std::string encode_group_counter(std::uint64_t next_group) {
  capnp::MallocMessageBuilder b;
  b.initRoot<schema::GroupCounter>().setNextGroup(next_group);
  return bytes_of(b);
}

std::uint64_t decode_group_counter(const std::string& bytes) {
  return decode_record<schema::GroupCounter>(bytes, "group counter",
                                             [](auto r) { return r.getNextGroup(); });
}

} // namespace troupe
