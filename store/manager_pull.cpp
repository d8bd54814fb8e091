// The pulling side of the store manager: copies objects of other nodes'
// stores into this node's, over the data channel (data_channel.hpp) where
// the source has one, else in chunks of CAF messages.

#include <algorithm>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "lib/net/transport.hpp"
#include "store/manager_state.hpp"

namespace troupe::store {

namespace {

using namespace std::chrono_literals;

// The data channel reads an object in pieces of 64 MiB, two at a time: the
// second waits at the receiver while the first streams, and objects from
// one source take turns (the reads of a source run one after the other).
constexpr std::uint64_t piece_bytes = 64u << 20;
constexpr std::uint32_t pieces_in_flight = 2;

/// Reports the copies the puller evicted.
void report_evicted(self_ptr self) {
  for (auto& id : self->state.puller->take_evicted())
    report(self, id, 0, 0, false);
}

/// Answers the readers of a completed pull and frees the source's pin.
void deliver(self_ptr self, const object_puller::completed& done) {
  auto& s = self->state;
  s.retries.erase(done.source.id);
  auto size = s.store->view(done.offset).size;
  ++s.pulls;
  s.pull_bytes += size;
  report(self, done.source.id, done.offset, size, true);
  if (auto src = manager_of(self, done.source.node))
    self->send(src, release_atom::value, done.source.offset);
  for (auto w : done.waiters) {
    auto it = s.waiting.find(w);
    if (it == s.waiting.end()) {
      s.store->unpin(done.offset); // the reader is gone: so is its pin
      continue;
    }
    s.store->hand_over(done.offset); // the reader adopts the pin
    it->second.deliver(done.offset);
    s.waiting.erase(it);
  }
}

/// Returns whether `id` is still pulled from `node` (and not from another
/// copy since, or done).
bool pulling(self_ptr self, const object_id& id, std::uint64_t node) {
  auto* obj = self->state.puller->transfer(id);
  return obj != nullptr && obj->node == node;
}

/// Asks the source for `chunks` as CAF messages; each answer asks for the
/// next ones.
void ask(self_ptr self, std::uint64_t node, std::vector<object_puller::chunk> chunks) {
  auto src = manager_of(self, node);
  for (auto& c : chunks) {
    self->request(src, 30s, chunk_atom::value, self->state.puller->transfer(c.id)->offset,
                  c.start, c.length)
        .then(
            [self, node, c](const std::vector<char>& bytes) {
              object_puller::completed done;
              auto next =
                  self->state.puller->on_chunk(c, bytes.data(), bytes.size(), &done);
              if (done.done)
                deliver(self, done);
              else
                ask(self, node, std::move(next));
            },
            [self, node, c](caf::error& e) {
              if (pulling(self, c.id, node))
                try_other_copy(self, c.id,
                               "reading a chunk failed: " + self->system().render(e));
            });
  }
}

void send_pieces(self_ptr self, std::uint64_t node,
                 std::vector<object_puller::chunk> pieces);

/// Pulls `c`'s object from its source again, by CAF messages: the source's
/// data server could not be reached (a firewall, say).
void without_channel(self_ptr self, std::uint64_t node, const object_puller::chunk& c,
                     const std::string& why) {
  auto& s = self->state;
  auto ch = s.channels.find(node);
  if (ch != s.channels.end() && ch->second.at == source_channel::phase::ready) {
    spdlog::warn("node {}'s data channel cannot be reached ({}): pulling from it by "
                 "CAF messages",
                 node, why);
    ch->second.at = source_channel::phase::none;
  }
  auto source = *s.puller->transfer(c.id);
  if (auto src = manager_of(self, node))
    self->send(src, release_atom::value, source.offset); // fetched again below
  if (s.puller->restart(c.id, source))
    start_transfer(self, c.id);
}

/// A piece was read (or not) by the receiver of `node`.
void on_piece(self_ptr self, std::uint64_t node, const object_puller::chunk& c,
              bool connected, const std::string& why) {
  auto& s = self->state;
  if (!s.puller->current(c))
    return; // failed, restarted or moved to another copy meanwhile
  if (!connected) {
    without_channel(self, node, c, why);
    return;
  }
  if (!why.empty()) {
    try_other_copy(self, c.id,
                   "reading from node " + std::to_string(node) +
                       "'s data channel failed: " + why);
    return;
  }
  object_puller::completed done;
  auto next = s.puller->on_written(c, &done);
  if (done.done)
    deliver(self, done);
  else
    send_pieces(self, node, std::move(next));
}

/// Has the receiver of `node` read `pieces` into the copy. Each read holds
/// a pin of the copy, which the receiver gives back when it is done writing:
/// a transfer failed or moved meanwhile frees its partial copy only then.
void send_pieces(self_ptr self, std::uint64_t node,
                 std::vector<object_puller::chunk> pieces) {
  auto& s = self->state;
  auto ch = s.channels.find(node);
  for (auto& c : pieces) {
    auto* obj = s.puller->transfer(c.id);
    auto* copy = s.puller->copy(c.id);
    if (obj == nullptr || copy == nullptr)
      continue;
    if (ch == s.channels.end() || ch->second.at != source_channel::phase::ready) {
      try_other_copy(self, c.id, "node " + std::to_string(node) + " went");
      continue;
    }
    s.store->pin(copy->offset);
    receive_job job{s.hosts[node],
                    ch->second.port,
                    ch->second.key,
                    obj->offset,
                    c.id,
                    c.start,
                    c.length,
                    copy->offset,
                    reinterpret_cast<std::uintptr_t>(copy->data + c.start)};
    // The receiver answers every read (a stalled source fails it after 30 s
    // without bytes): the timeout is only a net.
    self->request(ch->second.receiver, 3600s, pull_atom::value, std::move(job))
        .then(
            [self, node, c](bool connected, std::string& why) {
              on_piece(self, node, c, connected, why);
            },
            [self, node, c](caf::error& e) {
              on_piece(self, node, c, true, "no answer: " + self->system().render(e));
            });
  }
}

/// The source described the object: makes the copy and starts reading it,
/// over the data channel or in CAF chunks.
void begin_copy(self_ptr self, std::uint64_t node, const object_id& id,
                const object_meta& meta) {
  auto& s = self->state;
  bool direct = s.channels[node].at == source_channel::phase::ready;
  object_puller::completed done;
  std::vector<object_puller::chunk> chunks;
  try {
    chunks =
        s.puller->on_meta(id, {meta.size, meta.type_hash, meta.type_name, meta.enc},
                          &done, direct ? piece_bytes : 0, direct ? pieces_in_flight : 0);
  } catch (const std::exception& e) {
    if (auto* obj = s.puller->transfer(id))
      if (auto src = manager_of(self, node))
        self->send(src, release_atom::value, obj->offset);
    report_evicted(self);
    fail_transfer(self, id, e.what());
    return;
  }
  report_evicted(self);
  if (done.done)
    deliver(self, done);
  else if (direct)
    send_pieces(self, node, std::move(chunks));
  else
    ask(self, node, std::move(chunks));
}

/// The source answered where its data channel is (port 0: it has none).
void on_channel(self_ptr self, std::uint64_t node, std::uint16_t port,
                std::uint64_t key) {
  auto& s = self->state;
  auto it = s.channels.find(node);
  if (it == s.channels.end())
    return; // the node went meanwhile: its transfers moved or failed
  auto& ch = it->second;
  auto host = s.hosts.find(node);
  if (port != 0 && host != s.hosts.end() && !host->second.empty()) {
    ch.at = source_channel::phase::ready;
    ch.port = port;
    ch.key = key;
    ch.client = std::make_shared<data_client>(net::tls_of(self->system()));
    ch.receiver = spawn_data_receiver(self->system(), ch.client, s.store);
  } else {
    ch.at = source_channel::phase::none;
  }
  auto waiting = std::move(ch.waiting);
  ch.waiting.clear();
  for (auto& [id, meta] : waiting)
    if (pulling(self, id, node))
      begin_copy(self, node, id, meta);
}

/// Asks the manager of `node` for its data channel, once; transfers
/// described meanwhile wait for the answer.
void with_channel(self_ptr self, std::uint64_t node, const object_id& id,
                  const object_meta& meta) {
  auto& ch = self->state.channels[node];
  if (ch.at == source_channel::phase::ready || ch.at == source_channel::phase::none) {
    begin_copy(self, node, id, meta);
    return;
  }
  ch.waiting.emplace_back(id, meta);
  if (ch.at == source_channel::phase::asking)
    return;
  ch.at = source_channel::phase::asking;
  self->request(manager_of(self, node), 10s, chunk_atom::value)
      .then([self, node](std::uint16_t port,
                         std::uint64_t key) { on_channel(self, node, port, key); },
            [self, node](caf::error&) { on_channel(self, node, 0, 0); });
}

} // namespace

store_manager_actor manager_of(self_ptr self, std::uint64_t node) {
  auto it = self->state.managers.find(node);
  return it != self->state.managers.end() ? it->second : store_manager_actor{};
}

void fail_transfer(self_ptr self, const object_id& id, const std::string& why) {
  auto& s = self->state;
  s.retries.erase(id);
  ++s.pull_failures;
  spdlog::warn("pull of object {} failed: {}", id.to_string(), why);
  for (auto w : s.puller->fail(id)) {
    auto it = s.waiting.find(w);
    if (it == s.waiting.end())
      continue;
    it->second.deliver(caf::make_error(caf::sec::runtime_error, why));
    s.waiting.erase(it);
  }
}

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
              if (l.nodes[i] == failed || l.nodes[i] == s.node_id ||
                  !manager_of(self, l.nodes[i]))
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

void start_transfer(self_ptr self, const object_id& id) {
  auto& s = self->state;
  auto* obj = s.puller->transfer(id);
  if (!obj)
    return;
  auto node = obj->node;
  auto src = manager_of(self, node);
  if (!src) {
    try_other_copy(self, id,
                   "node " + std::to_string(node) + " is not in the cluster (or died)");
    return;
  }
  self->request(src, 30s, fetch_atom::value, obj->offset, id)
      .then(
          [self, id, node](object_meta& meta) {
            if (!pulling(self, id, node))
              return; // the pull moved to another copy meanwhile
            if (!meta.found)
              try_other_copy(self, id, meta.why);
            else
              with_channel(self, node, id, meta);
          },
          [self, id, node](caf::error& e) {
            if (pulling(self, id, node))
              try_other_copy(self, id,
                             "node " + std::to_string(node) +
                                 " did not answer: " + self->system().render(e));
          });
}

caf::result<std::uint64_t> pull(self_ptr self, const pull_request& req) {
  auto& s = self->state;
  if (req.node_id == s.node_id)
    return caf::make_error(caf::sec::invalid_argument,
                           "a pull of object " + req.id.to_string()
                             + " names this node as its source: it is here, or nowhere");
  auto waiter = s.next_waiter++;
  bool start = false;
  if (auto local = s.puller->want({req.id, req.node_id, req.offset}, waiter, &start)) {
    s.store->hand_over(*local); // the reader adopts the pin
    return *local;
  }
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

void drop_channel(self_ptr self, std::uint64_t node) {
  auto& s = self->state;
  auto it = s.channels.find(node);
  if (it == s.channels.end())
    return;
  // Its reads end at once and give their pins back; then it stops.
  if (it->second.client)
    it->second.client->cancel();
  if (it->second.receiver)
    self->send(it->second.receiver, stop_atom::value);
  s.channels.erase(it);
}

std::uint64_t evict_copies(self_ptr self, std::uint64_t bytes) {
  auto& s = self->state;
  auto before = s.store->stats().bytes_in_use;
  // At least one (the caller's block did not fit, though the bytes may
  // have), then until the bytes are free or no copy is left.
  while (s.puller->evict_one() && s.store->stats().free_bytes < bytes + 4096) {
  }
  report_evicted(self);
  auto after = s.store->stats().bytes_in_use;
  return before > after ? before - after : 0;
}

} // namespace troupe::store
