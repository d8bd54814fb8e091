#pragma once

#include <cstdint>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "lib/protocol/core_actor.hpp"
#include "troupe/object_id.hpp"

namespace troupe::detail {

class object_table;

/// A process's side of distributed reference counting (object_table.hpp
/// says what is counted): it registers this process, or a process a result
/// goes to, with the owners of borrowed objects, and unregisters it; on the
/// owner's side it counts who registered and watches them.
///
/// Unregistrations wait until every registration sent before them is
/// acknowledged: a process lets go of what carried a ref (an argument, an
/// object) only after the owner counts it as a borrower of that ref, so the
/// ref is never freed in between. Driven by the core actor.
class borrowing {
public:
  /// The messages it sends.
  class io {
  public:
    virtual ~io() = default;
    /// Asks the control store who owner `owner_id` is (answer: `on_owner`).
    virtual void find_owner(std::uint64_t owner_id) = 0;
    /// Asks `owner` to count `borrower` for `id` (answer: `on_answer`).
    virtual void register_at(const core_actor& owner, const object_id& id,
                             const caf::actor_addr& borrower) = 0;
    /// Tells `owner` that this process drops `count` registrations for `id`.
    virtual void unregister_at(const core_actor& owner, const object_id& id,
                               std::uint32_t count) = 0;
    /// Monitors a borrower (its down ends in `on_down`).
    virtual void watch(const caf::actor_addr& borrower) = 0;
  };

  borrowing(object_table& table, io& out, caf::actor_addr self)
    : table_(table), io_(out), self_(std::move(self)) {}

  /// Registers `borrower` (null: this process) for borrowed object `id`
  /// (the table counted it as unacknowledged).
  void borrow(const object_id& id, const caf::actor_addr& borrower);
  /// This process drops `count` registrations for `id`, owned by `owner`
  /// (null: by the owner of `id.owner`).
  void unborrow(const object_id& id, const caf::actor& owner, std::uint32_t count);
  /// The control store named owner `owner_id` (null: it is gone).
  void on_owner(std::uint64_t owner_id, const core_actor& owner);
  /// An owner answered a registration (or did not: it is gone).
  void on_answer();

  /// Owner side: `borrower` registers `count` times for `id`; returns false
  /// when `id` is not held here.
  bool on_register(const object_id& id, const caf::actor_addr& borrower,
                   std::uint32_t count);
  /// Owner side: a process that may borrow is down.
  void on_down(const caf::actor_addr& who);

  /// Returns how many unregistrations wait for acknowledgements (tests).
  std::size_t held() const noexcept { return held_.size(); }

private:
  void send_held();

  object_table& table_;
  io& io_;
  caf::actor_addr self_;
  std::unordered_map<std::uint64_t, core_actor> owners_;
  /// Registrations waiting for their owner's name, by owner id.
  std::unordered_map<std::uint64_t, std::vector<std::pair<object_id, caf::actor_addr>>>
    lookups_;
  /// Unregistrations waiting for acknowledgements: (id, owner, count).
  std::vector<std::tuple<object_id, caf::actor, std::uint32_t>> held_;
  std::unordered_set<caf::actor_addr> watched_;
};

} // namespace troupe::detail
