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

#include "store/object_puller.hpp"
#include "store/object_store.hpp"
#include "store/prefaulter.hpp"

namespace troupe::store {

namespace {

using namespace std::chrono_literals;

// Measured on loopback (BENCHMARKS.md, cross_node_put_get_gigabytes): 1 MiB
// chunks beat 4-16 MiB ones (a large CAF message is copied whole before it
// is sent on), and a few in flight keep the connection busy.
constexpr std::uint64_t chunk_bytes = 1u << 20;
constexpr std::uint32_t chunks_in_flight = 8;

struct manager_state {
  std::shared_ptr<shm_allocator> segment;
  std::unique_ptr<object_store> store;
  std::unique_ptr<object_puller> puller;
  /// Makes the segment's pages exist ahead of the store's use (declared
  /// after the store, so that it stops before the store goes).
  std::unique_ptr<prefaulter> pages;
  control_store_actor control;
  std::uint64_t node_id = 0;
  std::map<std::uint64_t, store_manager_actor> managers; ///< other nodes' managers
  /// Readers waiting for pulls, by the waiter ids the puller knows.
  std::map<std::uint64_t, caf::typed_response_promise<std::uint64_t>> waiting;
  std::uint64_t next_waiter = 1;
  /// Pulls from nodes whose manager is not known yet.
  std::vector<object_id> unsourced;
  /// Pulls moved to another copy after their source failed (at most twice).
  std::map<object_id, int> retries;
  /// Pins held for pullers on other nodes, released when they go.
  std::multimap<caf::actor_addr, std::uint64_t> lent;
  /// Pins and unpins for nodes whose manager is not known yet, in order:
  /// (node, offset, pin?).
  std::vector<std::tuple<std::uint64_t, std::uint64_t, bool>> relays;
  static inline const char* name = "troupe.store_manager";
};

using self_ptr = store_manager_actor::stateful_pointer<manager_state>;

store_manager_actor manager_of(self_ptr self, std::uint64_t node) {
  auto it = self->state.managers.find(node);
  return it != self->state.managers.end() ? it->second : store_manager_actor{};
}

/// Tells the object directory that a copy here appeared or went.
void report(self_ptr self, const object_id& id, std::uint64_t offset, std::uint64_t size,
            bool present) {
  if (auto& cs = self->state.control)
    self->send(cs, object_atom::value,
               object_location{id, self->state.node_id, offset, size, present});
}

/// Removes a pin; a freed object leaves the directory.
void release_pin(self_ptr self, std::uint64_t offset) {
  auto& store = *self->state.store;
  try {
    object_id id;
    if (store.unpin(offset, &id))
      report(self, id, offset, 0, false);
  } catch (const std::exception& e) {
    // A stale or doubled unpin from another process must not stop the node.
    spdlog::warn("unpin of offset {} failed: {}", offset, e.what());
  }
}

/// Reports the copies the puller evicted.
void report_evicted(self_ptr self) {
  for (auto& id : self->state.puller->take_evicted())
    report(self, id, 0, 0, false);
}

void fail_transfer(self_ptr self, const object_id& id, const std::string& why) {
  auto& s = self->state;
  s.retries.erase(id);
  spdlog::warn("pull of object {} failed: {}", id.to_string(), why);
  for (auto w : s.puller->fail(id)) {
    auto it = s.waiting.find(w);
    if (it == s.waiting.end())
      continue;
    it->second.deliver(caf::make_error(caf::sec::runtime_error, why));
    s.waiting.erase(it);
  }
}

/// Answers the readers of a completed pull and frees the source's pin.
void deliver(self_ptr self, const object_puller::completed& done) {
  auto& s = self->state;
  s.retries.erase(done.source.id);
  report(self, done.source.id, done.offset, s.store->view(done.offset).size, true);
  if (auto src = manager_of(self, done.source.node))
    self->send(src, release_atom::value, done.source.offset);
  for (auto w : done.waiters) {
    auto it = s.waiting.find(w);
    if (it == s.waiting.end()) {
      s.store->unpin(done.offset); // the reader is gone: so is its pin
      continue;
    }
    it->second.deliver(done.offset);
    s.waiting.erase(it);
  }
}

void start_transfer(self_ptr self, const object_id& id);

/// The source of a pull failed: pulls from another node's copy if the
/// object directory knows one, else fails the readers.
void try_other_copy(self_ptr self, const object_id& id, const std::string& why) {
  auto& s = self->state;
  auto* obj = s.puller->transfer(id);
  if (!obj || s.retries[id]++ >= 2) {
    fail_transfer(self, id, why);
    return;
  }
  auto failed = obj->node;
  self->request(s.control, 10s, object_atom::value, id)
    .then(
      [self, id, failed, why](const object_locations& l) {
        auto& s = self->state;
        for (std::size_t i = 0; i < l.nodes.size(); ++i) {
          if (l.nodes[i] == failed || l.nodes[i] == s.node_id || !manager_of(self, l.nodes[i]))
            continue;
          spdlog::info("pulling object {} from node {} instead: {}", id.to_string(),
                       l.nodes[i], why);
          if (s.puller->restart(id, {id, l.nodes[i], l.offsets[i]}))
            start_transfer(self, id);
          return;
        }
        fail_transfer(self, id, why);
      },
      [self, id, why](caf::error&) { fail_transfer(self, id, why); });
}

/// Asks the source for `chunks`; each answer asks for the next ones.
void ask(self_ptr self, std::uint64_t node, std::vector<object_puller::chunk> chunks) {
  auto src = manager_of(self, node);
  for (auto& c : chunks) {
    self->request(src, 30s, chunk_atom::value, self->state.puller->transfer(c.id)->offset,
                  c.start, c.length)
      .then(
        [self, node, c](const std::vector<char>& bytes) {
          object_puller::completed done;
          auto next = self->state.puller->on_chunk(c, bytes.data(), bytes.size(), &done);
          if (done.done)
            deliver(self, done);
          else
            ask(self, node, std::move(next));
        },
        [self, node, c](caf::error& e) {
          auto* obj = self->state.puller->transfer(c.id);
          if (!obj || obj->node != node)
            return; // the pull moved to another copy meanwhile
          try_other_copy(self, c.id, "reading a chunk failed: " + self->system().render(e));
        });
  }
}

/// Starts pulling once the source manager is known.
void start_transfer(self_ptr self, const object_id& id) {
  auto& s = self->state;
  auto* obj = s.puller->transfer(id);
  if (!obj)
    return;
  auto node = obj->node;
  auto src = manager_of(self, node);
  if (!src) {
    try_other_copy(self, id, "node " + std::to_string(node) + " is not in the cluster (or died)");
    return;
  }
  self->request(src, 30s, fetch_atom::value, obj->offset, id)
    .then(
      [self, id, node](object_meta& meta) {
        auto* obj = self->state.puller->transfer(id);
        if (!obj || obj->node != node)
          return; // the pull moved to another copy meanwhile
        if (!meta.found) {
          try_other_copy(self, id, meta.why);
          return;
        }
        object_puller::completed done;
        std::vector<object_puller::chunk> chunks;
        try {
          chunks = self->state.puller->on_meta(
            id, {meta.size, meta.type_hash, meta.type_name, meta.enc},
            &done);
        } catch (const std::exception& e) {
          if (auto* obj = self->state.puller->transfer(id))
            if (auto src = manager_of(self, node))
              self->send(src, release_atom::value, obj->offset);
          report_evicted(self);
          fail_transfer(self, id, e.what());
          return;
        }
        report_evicted(self);
        if (done.done)
          deliver(self, done);
        else
          ask(self, node, std::move(chunks));
      },
      [self, id, node](caf::error& e) {
        auto* obj = self->state.puller->transfer(id);
        if (!obj || obj->node != node)
          return;
        try_other_copy(self, id, "node " + std::to_string(node)
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
  auto& m = it->second;
  if (pin)
    self->send(m, pin_atom::value, offset);
  else
    self->send(m, unpin_atom::value, offset);
}

/// Learns every node's manager from the control store, then starts the
/// transfers that waited for it.
void refresh_managers(self_ptr self) {
  self->request(self->state.control, 10s, nodes_atom::value)
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
        auto waiting = std::move(s.unsourced);
        s.unsourced.clear();
        for (auto& id : waiting)
          start_transfer(self, id);
        auto relays = std::move(s.relays);
        s.relays.clear();
        for (auto& [node, offset, pin] : relays)
          relay(self, node, offset, pin, true);
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
    for (auto& id : s.puller->pulling_from(node))
      try_other_copy(self, id, "node " + std::to_string(node) + " died while sending it");
  }
}

/// Returns the offset of a local copy at once, else when the pull is done.
caf::result<std::uint64_t> pull(self_ptr self, const pull_request& req) {
  auto& s = self->state;
  auto waiter = s.next_waiter++;
  bool start = false;
  if (auto local = s.puller->want({req.id, req.node_id, req.offset}, waiter, &start))
    return *local;
  auto rp = self->make_response_promise<std::uint64_t>();
  s.waiting.emplace(waiter, rp);
  if (!start)
    return rp; // joins the transfer under way
  if (s.managers.count(req.node_id)) {
    start_transfer(self, req.id);
  } else {
    if (s.unsourced.empty())
      refresh_managers(self);
    s.unsourced.push_back(req.id);
  }
  return rp;
}

/// A puller on another node starts: the object stays pinned for it until it
/// releases it or goes.
object_meta fetch(self_ptr self, std::uint64_t offset, const object_id& id) {
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
  auto r = self->state.store->view(offset);
  if (start >= r.size)
    return {};
  len = std::min<std::uint64_t>(len, r.size - start);
  auto* p = reinterpret_cast<const char*>(r.data) + start;
  return std::vector<char>(p, p + len);
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
    relay(self, node, offset, true);
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
    relay(self, node, offset, false);
}

std::string stats(self_ptr self) {
  auto s = self->state.store->stats();
  return to_json_text(store_status{self->state.segment->name(), s.capacity, s.free_bytes,
                                   s.live_objects, s.bytes_in_use,
                                   self->state.puller->cached()});
}

store_manager_actor::behavior_type manager_fn(self_ptr self,
                                              std::shared_ptr<shm_allocator> segment) {
  self->state.segment = segment;
  self->state.store = std::make_unique<object_store>(*segment);
  self->state.puller = std::make_unique<object_puller>(*self->state.store, chunk_bytes,
                                                       chunks_in_flight);
  auto* store = self->state.store.get();
  self->state.pages = std::make_unique<prefaulter>(
    *segment, [store] { return store->high_water(); }, prefault_ahead(segment->capacity()));
  self->set_down_handler([self](caf::down_msg& dm) { down(self, dm); });
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
    [self](release_atom, std::uint64_t offset) { give_back(self, offset); },
    [self](pin_atom, std::uint64_t offset) { remote_pin(self, offset); },
    [self](unpin_atom, std::uint64_t offset) { release_pin(self, offset); },
    [self](pin_atom, std::uint64_t offset, std::uint64_t node) {
      pin(self, offset, node);
    },
    [self](unpin_atom, std::uint64_t offset, std::uint64_t node) {
      unpin(self, offset, node);
    },
    [self](stats_atom) -> std::string { return stats(self); },
    [self](stop_atom) -> bool {
      self->state.pages.reset();
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
