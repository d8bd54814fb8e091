#include "lib/core/borrowing.hpp"

#include "lib/core/object_table.hpp"
#include "lib/protocol/handles.hpp"

namespace troupe::detail {

void borrowing::borrow(const object_id& id, const caf::actor_addr& borrower) {
  auto who = borrower ? borrower : self_;
  if (id.owner == table_.owner_id()) {
    // Ours, lent to the process a result goes to: the table counted it.
    if (who != self_ && watched_.insert(who).second)
      io_.watch(who);
    table_.borrow_done();
    return;
  }
  auto known = owners_.find(id.owner);
  if (known != owners_.end()) {
    io_.register_at(known->second, id, who);
    return;
  }
  if (auto owner = handle_cast<core_actor>(table_.owner_of(id))) {
    owners_.emplace(id.owner, owner);
    io_.register_at(owner, id, who);
    return;
  }
  auto& waiting = lookups_[id.owner];
  if (waiting.empty())
    io_.find_owner(id.owner);
  waiting.emplace_back(id, who);
}

void borrowing::unborrow(const object_id& id, const caf::actor& owner,
                         std::uint32_t count) {
  held_.emplace_back(id, owner, count);
  if (table_.unacknowledged() == 0)
    send_held();
}

void borrowing::send_held() {
  for (auto& [id, owner, count] : held_) {
    auto typed = handle_cast<core_actor>(owner);
    if (!typed) {
      auto it = owners_.find(id.owner);
      if (it == owners_.end())
        continue; // never found, so never registered with: nothing to undo
      typed = it->second;
    }
    io_.unregister_at(typed, id, count);
  }
  held_.clear();
}

void borrowing::on_owner(std::uint64_t owner_id, const core_actor& owner) {
  auto it = lookups_.find(owner_id);
  if (it == lookups_.end())
    return;
  auto waiting = std::move(it->second);
  lookups_.erase(it);
  if (owner)
    owners_[owner_id] = owner;
  for (auto& [id, who] : waiting) {
    if (owner) {
      io_.register_at(owner, id, who);
    } else {
      on_answer(); // the owner is gone: so is the object, nothing to count
    }
  }
}

void borrowing::on_answer() {
  table_.borrow_done();
  if (table_.unacknowledged() == 0 && !held_.empty())
    send_held();
}

bool borrowing::on_register(const object_id& id, const caf::actor_addr& borrower,
                            std::uint32_t count) {
  if (!table_.add_borrower(id, borrower, count))
    return false;
  if (borrower != self_ && watched_.insert(borrower).second)
    io_.watch(borrower);
  return true;
}

void borrowing::on_down(const caf::actor_addr& who) {
  if (watched_.erase(who) > 0)
    table_.drop_borrower(who);
  for (auto it = owners_.begin(); it != owners_.end();) {
    if (it->second.address() == who)
      it = owners_.erase(it);
    else
      ++it;
  }
}

} // namespace troupe::detail
