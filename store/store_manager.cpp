#include "lib/net/transport.hpp"
#include "store/store_manager.hpp"
#include "lib/protocol/messages.hpp"
#include "lib/protocol/status.hpp"

#include <filesystem>
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "troupe/errors.hpp"

#include "store/manager_state.hpp"

namespace troupe::store {

void report(self_ptr self, const object_id& id, std::uint64_t offset, std::uint64_t size,
            bool present) {
  if (auto& cs = self->state.control)
    self->send(cs, object_atom::value,
               object_location{id, self->state.node_id, offset, size, present});
}

namespace {

using namespace std::chrono_literals;

// How often the holds of dead processes are looked for: a /proc read per
// process of the node, and a walk of the store's blocks when one died.
constexpr auto reap_every = 2s;

// Chunks of CAF messages, for sources without a data channel. Measured on
// loopback (cross_node_put_get_gigabytes): 1 MiB chunks beat 4-16 MiB ones
// (a large CAF message is copied whole before it is sent on), and 8 in
// flight keep the connection busy (32: no faster).
constexpr std::uint64_t caf_chunk_bytes = 1u << 20;
constexpr std::uint32_t caf_chunks_in_flight = 8;

/// Removes a pin; a freed object leaves the directory.
void release_pin(self_ptr self, std::uint64_t offset) {
  auto& store = *self->state.store;
  try {
    freed_object freed;
    if (store.unpin(offset, &freed))
      report(self, freed.id, offset, 0, false);
  } catch (const std::exception& e) {
    // A stale or doubled unpin from another process must not stop the node.
    spdlog::warn("unpin of offset {} failed: {}", offset, e.what());
  }
}


/// Passes a pin, unpin or adoption on to the manager of `op.node` (dropped
/// when the node is dead: its store is gone with it).
void relay(self_ptr self, const relayed& op, bool refreshed = false) {
  auto& s = self->state;
  auto it = s.managers.find(op.node);
  if (it == s.managers.end()) {
    if (refreshed)
      return; // not an alive node
    if (s.relays.empty())
      refresh_managers(self);
    s.relays.push_back(op);
    return;
  }
  auto& m = it->second;
  switch (op.what) {
    case relayed::op::pin:
      self->send(m, pin_atom::value, op.offset);
      break;
    case relayed::op::unpin:
      self->send(m, unpin_atom::value, op.offset);
      break;
    case relayed::op::adopt:
      self->send(m, adopt_atom::value, op.offset, op.id);
      break;
  }
}

/// Learns the nodes' managers and hosts from a node list.
void learn_nodes(self_ptr self, const node_list& l) {
  auto& s = self->state;
  for (auto& n : l.nodes)
    if (n.alive && n.node_id != s.node_id && !s.managers.count(n.node_id)) {
      s.managers[n.node_id] = n.store_manager;
      s.hosts[n.node_id] = n.host;
      self->monitor(n.store_manager);
    } else if (!n.alive) {
      s.managers.erase(n.node_id);
      s.hosts.erase(n.node_id);
    }
}

void down(self_ptr self, const caf::down_msg& dm) {
  auto& s = self->state;
  // A puller's node is gone: the pins lent to it go too.
  auto range = s.lent.equal_range(dm.source);
  std::vector<std::uint64_t> pins;
  for (auto it = range.first; it != range.second; ++it)
    pins.push_back(it->second);
  s.lent.erase(range.first, range.second);
  for (auto offset : pins)
    release_pin(self, offset);
  // A source node is gone: so are its objects.
  for (auto it = s.managers.begin(); it != s.managers.end();) {
    if (it->second.address() != dm.source) {
      ++it;
      continue;
    }
    auto node = it->first;
    it = s.managers.erase(it);
    drop_channel(self, node);
    for (auto& id : s.puller->pulling_from(node))
      try_other_copy(self, id, "node " + std::to_string(node) + " died while sending it");
  }
}

/// A puller on another node starts: the object stays pinned for it until it
/// releases it or goes.
object_meta fetch(self_ptr self, std::uint64_t offset, const object_id& id) {
  auto& s = self->state;
  object_meta m;
  try {
    auto r = s.store->read(offset); // a spilled object is read back
    s.store->end_read(offset);
    if (r.id != id) {
      m.why = "object " + id.to_string() + " is no longer in node "
              + std::to_string(s.node_id) + "'s store";
      return m;
    }
    s.store->pin(offset);
    if (auto& puller = self->current_sender()) {
      s.lent.emplace(puller->address(), offset);
      self->monitor(puller);
    }
    m.found = true;
    m.size = r.size;
    m.type_hash = r.type_hash;
    m.type_name = std::string{r.type_name};
    m.enc = r.enc;
  } catch (const std::exception& e) {
    m.why = "object " + id.to_string() + " is not in node " + std::to_string(s.node_id)
            + "'s store: " + e.what();
  }
  return m;
}

std::vector<char> read_chunk(self_ptr self, std::uint64_t offset, std::uint64_t start,
                             std::uint64_t len) {
  auto& store = *self->state.store;
  auto r = store.read(offset);
  std::vector<char> out;
  if (start < r.size) {
    len = std::min<std::uint64_t>(len, r.size - start);
    auto* p = reinterpret_cast<const char*>(r.data) + start;
    out.assign(p, p + len);
  }
  store.end_read(offset);
  return out;
}

/// A puller is done with a pin lent to it; only the puller it was lent to
/// can give it back.
void give_back(self_ptr self, std::uint64_t offset) {
  auto& s = self->state;
  auto puller = self->current_sender();
  for (auto it = s.lent.begin(); it != s.lent.end(); ++it)
    if (it->first == puller && it->second == offset) {
      s.lent.erase(it);
      release_pin(self, offset);
      return;
    }
}

/// A pin relayed by the manager of another node.
void remote_pin(self_ptr self, std::uint64_t offset) {
  try {
    self->state.store->pin(offset);
  } catch (const std::exception& e) {
    spdlog::warn("a remote pin of offset {} failed: {}", offset, e.what());
  }
}

/// Pins an object in the store of `node` (0: this one).
void pin(self_ptr self, std::uint64_t offset, std::uint64_t node) {
  if (node != 0 && node != self->state.node_id) {
    relay(self, {node, offset, relayed::op::pin, {}});
    return;
  }
  try {
    self->state.store->pin(offset);
  } catch (const std::exception& e) {
    spdlog::warn("a pin of offset {} failed: {}", offset, e.what());
  }
}

/// Unpins an object in the store of `node` (0: this one).
void unpin(self_ptr self, std::uint64_t offset, std::uint64_t node) {
  if (node == 0 || node == self->state.node_id)
    release_pin(self, offset);
  else
    relay(self, {node, offset, relayed::op::unpin, {}});
}

/// Takes a pin handed over in this node's store for a process of another
/// node (its later unpin comes relayed, as a remote pin's does).
void remote_adopt(self_ptr self, std::uint64_t offset, const object_id& id) {
  try {
    if (!self->state.store->adopt(offset, id))
      spdlog::warn("object {} at offset {} was freed before a process of another node "
                   "took it (its sender died)", id.to_string(), offset);
  } catch (const std::exception& e) {
    spdlog::warn("adopting offset {} failed: {}", offset, e.what());
  }
}

/// Adopts a handed-over pin of the store of `node` (0: this one) for a
/// process of this node.
void adopt(self_ptr self, std::uint64_t offset, const object_id& id, std::uint64_t node) {
  if (node == 0 || node == self->state.node_id)
    remote_adopt(self, offset, id);
  else
    relay(self, {node, offset, relayed::op::adopt, id});
}

/// Starts this node's data server on `host` (none when empty) and tells the
/// pullers that asked where it is (port 0: nowhere, pull by CAF messages).
void listen_for_data(self_ptr self, const std::string& host) {
  auto& s = self->state;
  if (!host.empty()) {
    // A send's pin is given back here; one that frees the object (its lent
    // pin went meanwhile) leaves the directory as release_pin does.
    auto release = [store = s.store, control = s.control,
                    node = s.node_id](std::uint64_t offset) {
      try {
        freed_object freed;
        if (store->unpin(offset, &freed) && control)
          caf::anon_send(control, object_atom::value,
                         object_location{freed.id, node, offset, 0, false});
      } catch (const std::exception& e) {
        spdlog::warn("unpin of offset {} after a send failed: {}", offset, e.what());
      }
    };
    s.server = std::make_unique<data_server>(*s.store, release, net::tls_of(self->system()));
    s.server_port = s.server->listen(host);
  }
  if (s.server_port == 0) {
    spdlog::warn("no data channel on '{}': other nodes pull from this one by CAF messages",
                 host);
    s.server.reset();
    s.server_failed = true;
  }
  for (auto& rp : s.address_waiters)
    rp.deliver(s.server_port, s.server ? s.server->key() : std::uint64_t{0});
  s.address_waiters.clear();
}

/// Where this node's data channel listens: started at the first ask, on the
/// host the node directory lists for this node (where others reach it).
caf::result<std::uint16_t, std::uint64_t> data_address(self_ptr self) {
  auto& s = self->state;
  if (s.server)
    return {s.server_port, s.server->key()};
  if (s.server_failed)
    return {std::uint16_t{0}, std::uint64_t{0}};
  auto rp = self->make_response_promise<std::uint16_t, std::uint64_t>();
  s.address_waiters.push_back(rp);
  if (s.address_waiters.size() > 1)
    return rp; // the node list is asked for already
  self->request(s.control, 10s, nodes_atom::value)
    .then(
      [self](const node_list& l) {
        learn_nodes(self, l);
        std::string host;
        for (auto& n : l.nodes)
          if (n.node_id == self->state.node_id)
            host = n.host;
        listen_for_data(self, host);
      },
      [self](caf::error&) { listen_for_data(self, ""); });
  return rp;
}

std::string stats(self_ptr self) {
  auto& store = *self->state.store;
  auto s = store.stats();
  store_status out{self->state.segment->name(), s.capacity, s.free_bytes,
                   s.live_objects, s.bytes_in_use,
                   self->state.puller->cached(), s.processes, s.recoveries,
                   s.spilled_objects, s.spilled_bytes, s.fallback_objects,
                   s.fallback_bytes, store.spill_dir(), store.job_limit()};
  for (auto& [job, bytes] : store.job_shares())
    out.jobs[job] = bytes;
  out.pulls = self->state.pulls;
  out.pull_bytes = self->state.pull_bytes;
  out.pull_failures = self->state.pull_failures;
  return to_json_text(out);
}

store_manager_actor::behavior_type manager_fn(self_ptr self,
                                              std::shared_ptr<shm_allocator> segment,
                                              std::string spill_dir,
                                              std::uint64_t max_job_bytes) {
  self->state.segment = segment;
  self->state.spill_dir = spill_dir;
  // The store keeps its segment mapped: a receiver thread may outlive the
  // state by the read it is in.
  self->state.store = std::shared_ptr<object_store>(new object_store(*segment),
                                                    [segment](object_store* p) { delete p; });
  self->state.puller = std::make_unique<object_puller>(*self->state.store, caf_chunk_bytes,
                                                       caf_chunks_in_flight);
  auto* store = self->state.store.get();
  open_spill_dir(*store, spill_dir);
  store->set_job_limit(max_job_bytes);
  self->state.pages = std::make_unique<prefaulter>(
    *segment, [store] { return store->high_water(); }, prefault_ahead(segment->capacity()));
  self->set_down_handler([self](caf::down_msg& dm) { down(self, dm); });
  self->delayed_send(self, reap_every, tick_atom::value);
  return {
    [self](node_atom, const control_store_actor& control, std::uint64_t node_id) {
      self->state.control = control;
      self->state.node_id = node_id;
    },
    [self](pull_atom, const pull_request& req) -> caf::result<std::uint64_t> {
      return pull(self, req);
    },
    [self](fetch_atom, std::uint64_t offset, const object_id& id) -> object_meta {
      return fetch(self, offset, id);
    },
    [self](chunk_atom, std::uint64_t offset, std::uint64_t start,
           std::uint64_t len) -> std::vector<char> {
      return read_chunk(self, offset, start, len);
    },
    [self](chunk_atom) -> caf::result<std::uint16_t, std::uint64_t> {
      return data_address(self);
    },
    [self](release_atom, std::uint64_t offset) { give_back(self, offset); },
    [self](pin_atom, std::uint64_t offset) { remote_pin(self, offset); },
    [self](unpin_atom, std::uint64_t offset) { release_pin(self, offset); },
    [self](pin_atom, std::uint64_t offset, std::uint64_t node) {
      pin(self, offset, node);
    },
    [self](unpin_atom, std::uint64_t offset, std::uint64_t node) {
      unpin(self, offset, node);
    },
    [self](adopt_atom, std::uint64_t offset, const object_id& id) {
      remote_adopt(self, offset, id);
    },
    [self](adopt_atom, std::uint64_t offset, const object_id& id, std::uint64_t node) {
      adopt(self, offset, id, node);
    },
    [self](tick_atom) {
      reap(self);
      self->delayed_send(self, reap_every, tick_atom::value);
    },
    [self](stats_atom) -> std::string { return stats(self); },
    [self](object_atom) {
      for (auto& [id, offset] : self->state.puller->copies())
        report(self, id, offset, self->state.store->view(offset).size, true);
    },
    [self](evict_atom, std::uint64_t bytes) -> std::uint64_t { return make_room(self, bytes); },
    [self](evict_atom, std::uint64_t bytes, std::uint64_t job) -> std::uint64_t {
      return spill_job(self, bytes, job);
    },
    [self](stop_atom) -> bool {
      self->state.pages.reset();
      shm_allocator::remove(self->state.segment->name());
      std::error_code ec;
      std::filesystem::remove_all(self->state.spill_dir, ec);
      self->quit();
      return true;
    },
  };
}

} // namespace

void refresh_managers(self_ptr self) {
  self->request(self->state.control, 10s, nodes_atom::value)
    .then(
      [self](const node_list& l) {
        auto& s = self->state;
        learn_nodes(self, l);
        auto waiting = std::move(s.unsourced);
        s.unsourced.clear();
        for (auto& id : waiting)
          start_transfer(self, id);
        auto relays = std::move(s.relays);
        s.relays.clear();
        for (auto& op : relays)
          relay(self, op, true);
      },
      [self](caf::error& e) {
        auto waiting = std::move(self->state.unsourced);
        self->state.unsourced.clear();
        for (auto& id : waiting)
          fail_transfer(self, id, "the control store did not list the nodes: "
                                    + self->system().render(e));
        self->state.relays.clear();
      });
}

store_manager_actor spawn_store_manager(caf::actor_system& sys,
                                        std::shared_ptr<shm_allocator> segment,
                                        std::string spill_dir,
                                        std::uint64_t max_job_bytes) {
  // A folder of this store's own inside: the manager removes it at its stop,
  // and never a folder the user named, with whatever else it holds.
  if (spill_dir.empty()) {
    auto root = std::getenv("TROUPE_SESSION_DIR");
    spill_dir = root ? root : "/tmp";
  }
  spill_dir += "/spill-" + segment->name();
  return sys.spawn(manager_fn, std::move(segment), std::move(spill_dir), max_job_bytes);
}

void remove_stale_segments() {
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    auto name = entry.path().filename().string();
    if (name.rfind("troupe-", 0) != 0)
      continue;
    auto dash = name.find('-', 7);
    if (dash == std::string::npos)
      continue;
    int pid = 0;
    try {
      pid = std::stoi(name.substr(7, dash - 7));
    } catch (...) {
      continue;
    }
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH)
      shm_allocator::remove(name);
  }
}

} // namespace troupe::store
