#pragma once

// The store manager's state and the functions its two sources share:
// store_manager.cpp (the behaviour, serving other nodes, pins) and
// manager_pull.cpp (pulling objects from other nodes). Internal to store/.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "lib/protocol/messages.hpp"
#include "store/allocator.hpp"
#include "store/data_channel.hpp"
#include "store/data_receiver.hpp"
#include "store/object_puller.hpp"
#include "store/object_store.hpp"
#include "store/prefaulter.hpp"

namespace troupe::store {

/// What a manager knows of a source node's data channel (data_channel.hpp).
///
///     unknown --(1) a transfer needs it: asks the source--> asking
///     asking --(2) a port, and the node's host known--> ready (a receiver)
///            --(3) no port, no answer, no host---------> none (CAF chunks)
///     ready --(4) the data server cannot be reached-----> none
struct source_channel {
  enum class phase { unknown, asking, ready, none };
  phase at = phase::unknown;
  std::uint16_t port = 0;
  std::uint64_t key = 0;
  std::shared_ptr<data_client> client;
  data_receiver_actor receiver;
  /// Transfers described by the source, waiting for the channel's answer.
  std::vector<std::pair<object_id, object_meta>> waiting;
};

/// A pin, unpin or adoption passed on to another node's manager.
struct relayed {
  enum class op { pin, unpin, adopt };
  std::uint64_t node;
  std::uint64_t offset;
  op what;
  object_id id; ///< adopt: the object expected there
};

struct manager_state {
  std::shared_ptr<shm_allocator> segment;
  std::string spill_dir; ///< where spilled objects' files go (removed at stop)
  std::shared_ptr<object_store> store; ///< shared with the data threads
  std::unique_ptr<object_puller> puller;
  /// Makes the segment's pages exist ahead of the store's use (declared
  /// after the store, so that it stops before the store goes).
  std::unique_ptr<prefaulter> pages;
  control_store_actor control;
  std::uint64_t node_id = 0;
  std::map<std::uint64_t, store_manager_actor> managers; ///< other nodes' managers
  std::map<std::uint64_t, std::string> hosts;            ///< other nodes' hosts
  /// Readers waiting for pulls, by the waiter ids the puller knows.
  std::map<std::uint64_t, caf::typed_response_promise<std::uint64_t>> waiting;
  std::uint64_t next_waiter = 1;
  /// Pulls from nodes whose manager is not known yet.
  std::vector<object_id> unsourced;
  /// Pulls moved to another copy after their source failed (at most twice).
  std::map<object_id, int> retries;
  /// Other nodes' data channels, as a puller.
  std::map<std::uint64_t, source_channel> channels;
  /// Pins held for pullers on other nodes, released when they go.
  std::multimap<caf::actor_addr, std::uint64_t> lent;
  /// Pins, unpins and adoptions for nodes whose manager is not known yet,
  /// in order.
  std::vector<relayed> relays;
  /// This node's data channel, as a source: started at the first ask.
  std::unique_ptr<data_server> server;
  std::uint16_t server_port = 0;
  bool server_failed = false;
  std::vector<caf::typed_response_promise<std::uint16_t, std::uint64_t>> address_waiters;
  // Pulls since the manager started (`troupe metrics`).
  std::uint64_t pulls = 0;
  std::uint64_t pull_bytes = 0;
  std::uint64_t pull_failures = 0;
  static inline const char* name = "troupe.store_manager";

  /// Ends the reads of every source's receiver: they give their pins back,
  /// then stop.
  ~manager_state() {
    for (auto& [node, ch] : channels) {
      if (ch.client)
        ch.client->cancel();
      if (ch.receiver)
        caf::anon_send(ch.receiver, stop_atom::value);
    }
  }
};

using self_ptr = store_manager_actor::stateful_pointer<manager_state>;

/// Returns the manager of `node`, or an invalid handle.
store_manager_actor manager_of(self_ptr self, std::uint64_t node);

/// Tells the object directory that a copy here appeared or went.
void report(self_ptr self, const object_id& id, std::uint64_t offset, std::uint64_t size,
            bool present);

/// Learns every node's manager and host from the control store, then starts
/// the transfers and relays that waited for them.
void refresh_managers(self_ptr self);

// -- pulling (manager_pull.cpp) -----------------------------------------------

/// Returns the offset of a local copy at once, else when the pull is done.
caf::result<std::uint64_t> pull(self_ptr self, const pull_request& req);

/// Evicts cached copies that nobody pins until `bytes` are free (or none is
/// left); returns how many bytes that freed.
std::uint64_t evict_copies(self_ptr self, std::uint64_t bytes);

/// Starts a transfer whose source's manager is known now.
void start_transfer(self_ptr self, const object_id& id);

/// Fails a pull: its readers get `why`, its partial copy is freed.
void fail_transfer(self_ptr self, const object_id& id, const std::string& why);

/// The source of a pull failed: pulls from another node's copy if the
/// object directory knows one, else fails the readers.
void try_other_copy(self_ptr self, const object_id& id, const std::string& why);

/// Drops the holds of this node's processes that are gone; what only they
/// held is freed and leaves the directory. Returns the bytes freed.
/// `at_once`: also those found dead for the first time (the store is full:
/// room now beats waiting for an answer a dead worker may have sent).
std::uint64_t reap(self_ptr self, bool at_once = false);

/// Makes the spill folder and tells the store (no folder: no spilling).
void open_spill_dir(object_store& store, const std::string& dir);

/// A put found the store full: frees `bytes` (the holds of dead processes,
/// then cached copies nobody pins, then spilling); returns the bytes freed.
std::uint64_t make_room(self_ptr self, std::uint64_t bytes);

/// A job past its share: its own objects nobody reads go to disk until
/// `bytes` more fit in its share; returns the bytes freed.
std::uint64_t spill_job(self_ptr self, std::uint64_t bytes, std::uint64_t job);

/// Forgets the data channel of a node that is gone, ending its reads.
void drop_channel(self_ptr self, std::uint64_t node);

} // namespace troupe::store
