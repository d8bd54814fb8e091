#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "lib/protocol/messages.hpp"

namespace troupe {

/// The processes that own objects (drivers and workers, by owner id: the
/// `owner` of their object ids) and every node's copy of each stored object,
/// on the head's control store. Borrowers find an owner here; a store
/// manager whose pull lost its source finds another copy here.
class object_directory {
public:
  /// A process that owns objects, and its node.
  struct owner {
    core_actor core;
    std::uint64_t node = 0;
    endpoint address;
  };

  void add_owner(std::uint64_t owner_id, core_actor core, std::uint64_t node,
                 endpoint address = {});

  /// Returns the owner's core actor, or a null handle when it is unknown.
  core_actor core_of(std::uint64_t owner_id) const;

  /// Returns the owner's entry (a null core when it is unknown).
  owner_entry entry_of(std::uint64_t owner_id) const;

  /// Returns the owner id of the process whose core actor has address
  /// `addr`, or nothing.
  std::optional<std::uint64_t> owner_at(const caf::actor_addr& addr) const;

  void remove_owner(std::uint64_t owner_id) { owners_.erase(owner_id); }

  /// Returns the core actors of every owner.
  std::vector<core_actor> cores() const;

  /// A copy appeared or went. Copies reported on a dead node are ignored.
  void record_location(const object_location& loc);

  /// Returns every node holding a copy, with its place there.
  object_locations locations_of(const object_id& id) const;

  /// Node `node` died: its copies and its owners are forgotten. Returns the
  /// cores of the owners left (they are told which node died); adds those
  /// of the owners that died with it to `gone`, when given.
  std::vector<core_actor> node_died(std::uint64_t node, std::vector<core_actor>* gone = nullptr);

  /// Returns whether any copy of any object is known (for tests).
  bool has_locations() const noexcept { return !locations_.empty(); }

private:
  std::map<std::uint64_t, owner> owners_;
  std::vector<std::uint64_t> dead_nodes_;
  /// Object -> node -> (offset, size) of that node's copy.
  std::map<object_id, std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>>>
      locations_;
};

} // namespace troupe
