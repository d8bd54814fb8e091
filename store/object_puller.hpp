#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/object_store.hpp"
#include "troupe/object_id.hpp"

namespace troupe::store {

/// Where an object lives in another node's store.
struct remote_object {
  troupe::object_id id;
  std::uint64_t node = 0;   ///< the node holding it
  std::uint64_t offset = 0; ///< its place in that node's store
};

/// What the holding node says of an object before sending its bytes.
struct remote_meta {
  std::uint64_t size = 0;
  std::uint64_t type_hash = 0;
  std::string type_name;
  encoding enc = encoding::caf_binary;
};

/// The pulling side of a node's object-store manager, without the network:
/// the manager asks the holding node for what this says, and feeds back what
/// it answers. It keeps one local copy per object (the copy's first pin is
/// the puller's), so a second reader costs nothing; copies only the puller
/// pins are evicted, least recently wanted first, when the store is full.
///
/// One transfer per object:
///
///     asked --(1) on_meta: copy created--> receiving --(2) last chunk--> cached
///       |                                      |
///       +--------(3) fail (source gone, error)-+--> dropped (copy freed)
///
/// Readers waiting for a transfer are named by ids of the caller's choice;
/// when it completes each gets a pin of its own on the copy.
class object_puller {
public:
  /// A range of an object's bytes to ask the holding node for.
  struct chunk {
    troupe::object_id id;
    std::uint64_t start = 0;
    std::uint64_t length = 0;
    std::uint32_t generation = 0; ///< answers of an abandoned source are ignored
  };

  /// A completed transfer: the copy's offset, pinned once for each waiter.
  struct completed {
    bool done = false;
    std::uint64_t offset = 0;
    std::vector<std::uint64_t> waiters;
    remote_object source; ///< release the source's transfer pin
  };

  object_puller(object_store& store, std::uint64_t chunk_bytes, std::uint32_t in_flight);

  /// Reader `waiter` wants the object. Returns its local offset, pinned for
  /// the reader, when a copy is here; otherwise the reader waits, and
  /// `*start` tells whether a new transfer begins (ask the source for the
  /// object's metadata).
  std::optional<std::uint64_t> want(const remote_object& obj, std::uint64_t waiter,
                                    bool* start);

  /// The source described the object: creates the copy and returns the
  /// first chunks to ask for (an empty object is done at once), of
  /// `chunk_bytes` each with `in_flight` at a time (0: the puller's own).
  /// Throws `troupe::object_store_full` when it does not fit even after
  /// evicting (drop the transfer with `fail`).
  std::vector<chunk> on_meta(const troupe::object_id& id, const remote_meta& meta,
                             completed* done, std::uint64_t chunk_bytes = 0,
                             std::uint32_t in_flight = 0);

  /// A chunk arrived: copies it and returns the next ones to ask for; sets
  /// `done` when it was the last (the copy is sealed and cached).
  std::vector<chunk> on_chunk(const chunk& answered, const char* bytes, std::size_t size,
                              completed* done);

  /// A chunk was written into the copy in place (all of its bytes, at
  /// `copy(id)->data + start`): as `on_chunk` without the copying.
  std::vector<chunk> on_written(const chunk& answered, completed* done);

  /// Returns the copy a transfer fills, or nullptr when there is no such
  /// transfer or its copy is not made yet.
  const writable* copy(const troupe::object_id& id) const;

  /// Returns whether `c` belongs to a transfer under way, from its current
  /// source (not to one dropped, done or restarted since it was asked for).
  bool current(const chunk& c) const;

  /// Pulls the object from another node's copy instead (the first source
  /// died or lost it): the partial copy is dropped, the readers stay; ask
  /// the new source for the metadata again. Returns false if there is no
  /// such transfer.
  bool restart(const troupe::object_id& id, const remote_object& from);

  /// Returns the objects whose cached copies were evicted since the last call.
  std::vector<troupe::object_id> take_evicted() { return std::move(evicted_); }

  /// Evicts the least recently wanted copy that only the puller pins (the
  /// store needs room); returns false when there is none.
  bool evict_one();

  /// Drops the transfer and frees its copy; returns its waiters.
  std::vector<std::uint64_t> fail(const troupe::object_id& id);

  /// Returns the objects being pulled from `node`.
  std::vector<troupe::object_id> pulling_from(std::uint64_t node) const;

  /// Returns the transfer's object, or nullptr when there is none.
  const remote_object* transfer(const troupe::object_id& id) const;

  std::size_t cached() const noexcept { return copies_.size(); }
  /// The cached copies: object id -> local offset.
  const std::map<troupe::object_id, std::uint64_t>& copies() const noexcept { return copies_; }
  /// Whether `offset` is one of the cached copies (evicted, never spilled).
  bool holds_copy(std::uint64_t offset) const {
    for (auto& [id, o] : copies_)
      if (o == offset)
        return true;
    return false;
  }
  std::size_t transfers() const noexcept { return transfers_.size(); }

private:
  struct transfer_state {
    remote_object obj;
    remote_meta meta;
    writable local{};
    bool created = false;
    std::uint64_t next = 0;     ///< first byte not asked for yet
    std::uint64_t received = 0;
    std::uint32_t in_flight = 0;
    std::uint64_t chunk_bytes = 0; ///< of this transfer's chunks
    std::uint32_t window = 0;      ///< chunks in flight at most
    std::uint32_t generation = 0;
    std::vector<std::uint64_t> waiters;
  };

  std::vector<chunk> next_chunks(transfer_state& t);
  /// Returns the transfer an answered chunk belongs to, or end() when the
  /// answer is stale (the transfer is gone, not created, or restarted).
  std::map<troupe::object_id, transfer_state>::iterator live_transfer(const chunk& answered);
  /// Counts `n` bytes of an answered chunk as received; returns the next
  /// chunks or finishes the transfer.
  std::vector<chunk> received(std::map<troupe::object_id, transfer_state>::iterator it,
                              std::uint64_t n, completed* done);
  /// Seals and caches the copy; hands its waiters their pins.
  void finish(std::map<troupe::object_id, transfer_state>::iterator it, completed* done);
  /// Frees one copy that only the puller pins; returns false if none.

  object_store& store_;
  std::uint64_t chunk_bytes_;
  std::uint32_t in_flight_;
  std::map<troupe::object_id, transfer_state> transfers_;
  std::map<troupe::object_id, std::uint64_t> copies_; ///< id -> local offset
  std::list<troupe::object_id> lru_;                 ///< least recently wanted first
  std::vector<troupe::object_id> evicted_;
};

} // namespace troupe::store
