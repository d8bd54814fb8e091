#include "store/store_manager.hpp"

#include <filesystem>
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <map>
#include <tuple>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/control_store.hpp"
#include "troupe/errors.hpp"

#include "store/object_store.hpp"

namespace troupe::store {

namespace {

using namespace std::chrono_literals;

// Measured on loopback (BENCHMARKS.md, cross_node_put_get_gigabytes): 1 MiB
// chunks beat 4-16 MiB ones (a large CAF message is copied whole before it
// is sent on), and a few in flight keep the connection busy.
constexpr std::uint64_t chunk_bytes = 1u << 20;
constexpr std::uint32_t chunks_in_flight = 8;

/// One object on its way into this node's store.
struct transfer {
  pull_request req;
  caf::actor source; ///< the holding node's manager
  object_meta meta;
  writable local{};
  std::uint64_t next = 0;     ///< first byte not asked for yet
  std::uint64_t received = 0;
  std::uint32_t in_flight = 0;
  std::vector<caf::typed_response_promise<std::uint64_t>> waiters;
};

struct manager_state {
  std::shared_ptr<shm_allocator> segment;
  std::unique_ptr<object_store> store;
  caf::actor control;
  std::uint64_t node_id = 0;
  std::map<std::uint64_t, caf::actor> managers; ///< other nodes' managers
  std::map<object_id, transfer> transfers;
  /// Local copies of other nodes' objects: id -> offset (pinned once by us),
  /// and the order they were last pulled in.
  std::map<object_id, std::uint64_t> copies;
  std::list<object_id> lru;
  /// Pins held for pullers on other nodes, released when they go.
  std::multimap<caf::actor_addr, std::uint64_t> lent;
  /// Pins and unpins for nodes whose manager is not known yet, in order:
  /// (node, offset, pin?).
  std::vector<std::tuple<std::uint64_t, std::uint64_t, bool>> relays;
  static inline const char* name = "troupe.store_manager";
};

using self_ptr = store_manager_actor::stateful_pointer<manager_state>;

void fail_transfer(self_ptr self, const object_id& id, const std::string& why) {
  auto it = self->state.transfers.find(id);
  if (it == self->state.transfers.end())
    return;
  auto& t = it->second;
  if (t.local.data)
    self->state.store->unpin(t.local.offset); // frees the unsealed copy
  spdlog::warn("pull of object {} failed: {}", id.to_string(), why);
  for (auto& w : t.waiters)
    w.deliver(caf::make_error(caf::sec::runtime_error, why));
  self->state.transfers.erase(it);
}

/// Creates the local copy, making room by evicting copies only we pin.
bool create_copy(self_ptr self, transfer& t) {
  auto& s = self->state;
  for (;;) {
    try {
      t.local = s.store->create(t.req.id, t.meta.size, t.meta.type_hash, t.meta.type_name,
                                static_cast<encoding>(t.meta.enc));
      return true;
    } catch (const object_store_full&) {
      auto victim = std::find_if(s.lru.begin(), s.lru.end(), [&](const object_id& id) {
        return s.store->pins(s.copies[id]) == 1;
      });
      if (victim == s.lru.end())
        throw;
      s.store->unpin(s.copies[*victim]);
      s.copies.erase(*victim);
      s.lru.erase(victim);
    }
  }
}

void ask_chunks(self_ptr self, const object_id& id);

void on_chunk(self_ptr self, const object_id& id, std::uint64_t start,
              const std::vector<char>& bytes) {
  auto& s = self->state;
  auto it = s.transfers.find(id);
  if (it == s.transfers.end())
    return;
  auto& t = it->second;
  std::memcpy(t.local.data + start, bytes.data(),
              std::min<std::size_t>(bytes.size(), t.local.size - start));
  t.received += bytes.size();
  --t.in_flight;
  if (t.received < t.meta.size) {
    ask_chunks(self, id);
    return;
  }
  s.store->seal(t.local.offset);
  self->send(caf::actor_cast<store_manager_actor>(t.source), release_atom::value,
             t.req.offset);
  s.copies[id] = t.local.offset; // the creator's pin is the copy's
  s.lru.push_back(id);
  for (auto& w : t.waiters) {
    s.store->pin(t.local.offset);
    w.deliver(t.local.offset);
  }
  s.transfers.erase(it);
}

void ask_chunks(self_ptr self, const object_id& id) {
  auto& t = self->state.transfers.at(id);
  while (t.in_flight < chunks_in_flight && t.next < t.meta.size) {
    auto start = t.next;
    auto len = std::min(chunk_bytes, t.meta.size - start);
    t.next += len;
    ++t.in_flight;
    self->request(caf::actor_cast<store_manager_actor>(t.source), 30s, chunk_atom::value,
                  t.req.offset, start, len)
      .then([self, id, start](const std::vector<char>& bytes) {
              on_chunk(self, id, start, bytes);
            },
            [self, id](caf::error& e) {
              fail_transfer(self, id, "reading a chunk failed: " + self->system().render(e));
            });
  }
}

/// Starts pulling once the source manager is known.
void start_transfer(self_ptr self, const object_id& id) {
  auto& s = self->state;
  auto& t = s.transfers.at(id);
  auto node = t.req.node_id;
  auto src = s.managers.find(node);
  if (src == s.managers.end() || !src->second) {
    fail_transfer(self, id, "node " + std::to_string(node) + " is not in the cluster (or died)");
    return;
  }
  t.source = src->second;
  self->request(caf::actor_cast<store_manager_actor>(t.source), 30s, fetch_atom::value,
                t.req.offset, id)
    .then(
      [self, id](object_meta& meta) {
        auto it = self->state.transfers.find(id);
        if (it == self->state.transfers.end())
          return;
        if (!meta.found) {
          fail_transfer(self, id, meta.why);
          return;
        }
        auto& t = it->second;
        t.meta = std::move(meta);
        try {
          create_copy(self, t);
        } catch (const std::exception& e) {
          self->send(caf::actor_cast<store_manager_actor>(t.source), release_atom::value,
                     t.req.offset);
          fail_transfer(self, id, e.what());
          return;
        }
        if (t.meta.size == 0) {
          on_chunk(self, id, 0, {});
          return;
        }
        ask_chunks(self, id);
      },
      [self, id, node](caf::error& e) {
        fail_transfer(self, id, "node " + std::to_string(node)
                                  + " did not answer: " + self->system().render(e));
      });
}

void refresh_managers(self_ptr self);

/// Passes a pin or unpin on to the manager of `node` (dropped when the node
/// is dead: its store is gone with it).
void relay(self_ptr self, std::uint64_t node, std::uint64_t offset, bool pin,
           bool refreshed = false) {
  auto& s = self->state;
  auto it = s.managers.find(node);
  if (it == s.managers.end()) {
    if (refreshed)
      return; // not an alive node
    if (s.relays.empty())
      refresh_managers(self);
    s.relays.emplace_back(node, offset, pin);
    return;
  }
  auto m = caf::actor_cast<store_manager_actor>(it->second);
  if (pin)
    self->send(m, pin_atom::value, offset);
  else
    self->send(m, unpin_atom::value, offset);
}

/// Learns every node's manager from the control store, then starts the
/// transfers that waited for it.
void refresh_managers(self_ptr self) {
  auto cs = caf::actor_cast<control_store_actor>(self->state.control);
  self->request(cs, 10s, nodes_atom::value)
    .then(
      [self](const node_list& l) {
        auto& s = self->state;
        for (auto& n : l.nodes)
          if (n.alive && n.node_id != s.node_id && !s.managers.count(n.node_id)) {
            s.managers[n.node_id] = n.store_manager;
            self->monitor(n.store_manager);
          } else if (!n.alive) {
            s.managers.erase(n.node_id);
          }
        std::vector<object_id> waiting;
        for (auto& [id, t] : s.transfers)
          if (!t.source)
            waiting.push_back(id);
        for (auto& id : waiting)
          start_transfer(self, id);
        auto relays = std::move(s.relays);
        s.relays.clear();
        for (auto& [node, offset, pin] : relays)
          relay(self, node, offset, pin, true);
      },
      [self](caf::error& e) {
        std::vector<object_id> waiting;
        for (auto& [id, t] : self->state.transfers)
          if (!t.source)
            waiting.push_back(id);
        for (auto& id : waiting)
          fail_transfer(self, id, "the control store did not list the nodes: "
                                    + self->system().render(e));
        self->state.relays.clear();
      });
}

store_manager_actor::behavior_type manager_fn(self_ptr self,
                                              std::shared_ptr<shm_allocator> segment) {
  self->state.segment = segment;
  self->state.store = std::make_unique<object_store>(*segment);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    // A puller's node is gone: the pins lent to it go too.
    auto range = s.lent.equal_range(dm.source);
    for (auto it = range.first; it != range.second; ++it)
      s.store->unpin(it->second);
    s.lent.erase(range.first, range.second);
    // A source node is gone: so are its objects.
    for (auto it = s.managers.begin(); it != s.managers.end();) {
      if (it->second.address() != dm.source) {
        ++it;
        continue;
      }
      auto node = it->first;
      it = s.managers.erase(it);
      std::vector<object_id> lost;
      for (auto& [id, t] : s.transfers)
        if (t.req.node_id == node)
          lost.push_back(id);
      for (auto& id : lost)
        fail_transfer(self, id, "node " + std::to_string(node) + " died while sending it");
    }
  });
  return {
    [self](node_atom, const caf::actor& control, std::uint64_t node_id) {
      self->state.control = control;
      self->state.node_id = node_id;
    },
    [self](pull_atom, const pull_request& req) -> caf::result<std::uint64_t> {
      auto& s = self->state;
      if (auto c = s.copies.find(req.id); c != s.copies.end()) {
        s.store->pin(c->second);
        s.lru.remove(req.id);
        s.lru.push_back(req.id);
        return c->second;
      }
      auto rp = self->make_response_promise<std::uint64_t>();
      auto [it, fresh] = s.transfers.try_emplace(req.id);
      it->second.waiters.push_back(rp);
      if (!fresh)
        return rp;
      it->second.req = req;
      if (s.managers.count(req.node_id))
        start_transfer(self, req.id);
      else
        refresh_managers(self);
      return rp;
    },
    [self](fetch_atom, std::uint64_t offset, const object_id& id) -> object_meta {
      auto& s = self->state;
      object_meta m;
      try {
        auto r = s.store->view(offset);
        if (r.id != id) {
          m.why = "object " + id.to_string() + " is no longer in node "
                  + std::to_string(s.node_id) + "'s store";
          return m;
        }
        s.store->pin(offset);
        auto puller = caf::actor_cast<caf::actor>(self->current_sender());
        if (puller) {
          s.lent.emplace(puller.address(), offset);
          self->monitor(puller);
        }
        m.found = true;
        m.size = r.size;
        m.type_hash = r.type_hash;
        m.type_name = std::string{r.type_name};
        m.enc = static_cast<std::uint8_t>(r.enc);
      } catch (const std::exception& e) {
        m.why = "object " + id.to_string() + " is not in node " + std::to_string(s.node_id)
                + "'s store: " + e.what();
      }
      return m;
    },
    [self](chunk_atom, std::uint64_t offset, std::uint64_t start,
           std::uint64_t len) -> std::vector<char> {
      auto r = self->state.store->view(offset);
      if (start >= r.size)
        return {};
      len = std::min<std::uint64_t>(len, r.size - start);
      auto* p = reinterpret_cast<const char*>(r.data) + start;
      return std::vector<char>(p, p + len);
    },
    [self](release_atom, std::uint64_t offset) {
      auto& s = self->state;
      auto puller = self->current_sender();
      for (auto it = s.lent.begin(); it != s.lent.end(); ++it)
        if (it->first == puller && it->second == offset) {
          s.lent.erase(it);
          s.store->unpin(offset);
          return;
        }
    },
    [self](pin_atom, std::uint64_t offset) {
      try {
        self->state.store->pin(offset);
      } catch (const std::exception& e) {
        spdlog::warn("a remote pin of offset {} failed: {}", offset, e.what());
      }
    },
    [self](unpin_atom, std::uint64_t offset) {
      try {
        self->state.store->unpin(offset);
      } catch (const std::exception& e) {
        spdlog::warn("a remote unpin of offset {} failed: {}", offset, e.what());
      }
    },
    [self](pin_atom, std::uint64_t offset, std::uint64_t node) {
      if (node == 0 || node == self->state.node_id)
        self->state.store->pin(offset);
      else
        relay(self, node, offset, true);
    },
    [self](unpin_atom, std::uint64_t offset, std::uint64_t node) {
      if (node == 0 || node == self->state.node_id)
        self->state.store->unpin(offset);
      else
        relay(self, node, offset, false);
    },
    [self](stats_atom) -> std::string {
      auto s = self->state.store->stats();
      return "{\"segment\":\"" + self->state.segment->name() + "\",\"capacity\":"
             + std::to_string(s.capacity) + ",\"free\":" + std::to_string(s.free_bytes)
             + ",\"objects\":" + std::to_string(s.live_objects)
             + ",\"bytes_in_use\":" + std::to_string(s.bytes_in_use)
             + ",\"copies\":" + std::to_string(self->state.copies.size()) + "}";
    },
    [self](stop_atom) -> bool {
      shm_allocator::remove(self->state.segment->name());
      self->quit();
      return true;
    },
  };
}

} // namespace

store_manager_actor spawn_store_manager(caf::actor_system& sys,
                                        std::shared_ptr<shm_allocator> segment) {
  return sys.spawn(manager_fn, std::move(segment));
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
