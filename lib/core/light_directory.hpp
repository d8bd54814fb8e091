#pragma once

// The light actors a host process runs, by CAF actor id: where its core
// delivers their calls (core_actor.cpp, forward_light_calls).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include <caf/actor_control_block.hpp>

namespace troupe::detail {

/// A paged array of actors indexed by their CAF id. Ids in a process are
/// handed out in sequence, so the actors a host made lie in a few pages: a
/// lookup is one load of a slot, where CAF's registry (a hash table behind a
/// spin lock) took 70% of the host core's time delivering a burst of calls
/// to random actors. A page goes when its last actor does, so a host that
/// makes and ends actors for ever keeps only the pages of those alive
/// (8 bytes per id in them).
///
/// Thread safe: actors are added by the executors that build them, removed
/// when they terminate, and looked up by the core.
class light_directory {
public:
  /// How many ids share a page.
  static constexpr std::size_t page_size = 4096;

  /// Holds `actor` under `id` until `remove(id)`.
  void add(std::uint64_t id, caf::strong_actor_ptr actor);

  /// Drops the actor under `id`; returns whether there was one.
  bool remove(std::uint64_t id);

  /// Calls `f(i, actor)` for each `ids[i]` held, under one lock (`f` must
  /// not add or remove).
  template <class F>
  void for_each_found(std::span<const std::uint64_t> ids, F&& f) const {
    std::lock_guard<std::mutex> guard{mtx_};
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (auto* a = find_locked(ids[i]))
        f(i, *a);
  }

  /// Drops every actor (a process closing: before its actor system goes).
  void clear();

  /// Returns the actor under `id`, or null.
  caf::strong_actor_ptr find(std::uint64_t id) const;

  /// How many actors it holds, and how many pages.
  std::size_t size() const;
  std::size_t pages() const;

private:
  struct page {
    std::array<caf::strong_actor_ptr, page_size> slots;
    std::size_t used = 0;
  };

  const caf::strong_actor_ptr* find_locked(std::uint64_t id) const;

  mutable std::mutex mtx_;
  /// Page `i` holds the ids from `(first_page_ + i) * page_size`.
  std::vector<std::unique_ptr<page>> pages_;
  std::uint64_t first_page_ = 0;
  std::size_t size_ = 0;
};

} // namespace troupe::detail
