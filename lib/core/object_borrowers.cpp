// Distributed reference counting in the object table (object_table.hpp):
// who borrows this process's objects, what this process borrows, and the
// refs an object's value holds.
#include "lib/core/object_table.hpp"

#include <algorithm>

#include "troupe/codec.hpp"

namespace troupe::detail {

void object_table::set_borrow_hooks(borrow_fn borrow, unborrow_fn unborrow,
                                    unreferenced_fn unreferenced) {
  std::lock_guard guard{mtx_};
  borrow_ = std::move(borrow);
  unborrow_ = std::move(unborrow);
  unreferenced_ = std::move(unreferenced);
}

void object_table::register_new(const object_id& id, entry& e) {
  if (!borrow_)
    return; // a table without a core actor (unit tests) counts nothing
  e.registrations = 1;
  ++unacked_;
  borrow_(id, {}); // under the lock: ordered before the entry's unborrow
}

void object_table::count_borrower(entry& e, const caf::actor_addr& borrower,
                                  std::uint32_t count) {
  auto b = std::find_if(e.borrowers.begin(), e.borrowers.end(),
                        [&](auto& kv) { return kv.first == borrower; });
  if (b == e.borrowers.end())
    e.borrowers.emplace_back(borrower, count);
  else
    b->second += count;
}

bool object_table::uncount_borrower(entry& e, const caf::actor_addr& borrower,
                                    std::uint32_t count) {
  auto b = std::find_if(e.borrowers.begin(), e.borrowers.end(),
                        [&](auto& kv) { return kv.first == borrower; });
  if (b == e.borrowers.end())
    return false;
  if (b->second > count)
    b->second -= count;
  else
    e.borrowers.erase(b);
  return true;
}

bool object_table::add_borrower(const object_id& id, const caf::actor_addr& borrower,
                                std::uint32_t count) {
  std::lock_guard guard{mtx_};
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.owned)
    return false;
  count_borrower(it->second, borrower, count);
  return true;
}

void object_table::remove_borrower(const object_id& id, const caf::actor_addr& borrower,
                                   std::uint32_t count) {
  unpin_list unpins;
  {
    std::lock_guard guard{mtx_};
    auto it = entries_.find(id);
    if (it == entries_.end() || !uncount_borrower(it->second, borrower, count))
      return;
    erase_if_unused(it, unpins);
  }
  settle(unpins);
}

void object_table::drop_borrower(const caf::actor_addr& borrower) {
  unpin_list unpins;
  {
    std::lock_guard guard{mtx_};
    std::vector<object_id> had;
    for (auto& [id, e] : entries_)
      if (std::erase_if(e.borrowers, [&](auto& kv) { return kv.first == borrower; }) > 0)
        had.push_back(id);
    for (auto& id : had)
      if (auto it = entries_.find(id); it != entries_.end())
        erase_if_unused(it, unpins);
  }
  settle(unpins);
}

std::size_t object_table::borrower_count(const object_id& id) const {
  std::lock_guard guard{mtx_};
  auto it = entries_.find(id);
  return it == entries_.end() ? 0 : it->second.borrowers.size();
}

void object_table::lend(const object_id& id, const caf::actor_addr& beneficiary) {
  std::lock_guard guard{mtx_};
  if (!borrow_)
    return;
  if (id.owner == owner_id_) {
    // Ours: counted now, before the handle that is lent may go; the core
    // actor then watches the beneficiary.
    auto it = entries_.find(id);
    if (it == entries_.end())
      return;
    count_borrower(it->second, beneficiary, 1);
  }
  ++unacked_;
  borrow_(id, beneficiary);
}

ref_ptr object_table::adopt(const object_id& id) {
  std::lock_guard guard{mtx_};
  auto it = entries_.find(id);
  if (id.owner != owner_id_) {
    // New or not, the entry now holds the worker's registration for us;
    // its owner is looked up when it is fetched.
    auto& e = entries_[id];
    ++e.handles;
    if (borrow_)
      ++e.registrations;
    return make_handle(id, e.owner);
  }
  if (it == entries_.end()) {
    // Lent to us by a worker, so held until now: a protocol fault.
    auto& e = entries_[id];
    e.owned = true;
    e.st = status::failed;
    e.error = std::make_shared<const error_info>(
      error_info{error_kind::object_lost, "", "",
                 "object " + id.to_string() + " was freed before its result arrived"});
    e.handles = 1;
    return make_handle(id, self_);
  }
  // The worker counted us as a borrower of our own object: a handle takes
  // that count's place.
  ++it->second.handles;
  uncount_borrower(it->second, self_.address(), 1);
  return make_handle(id, self_);
}

void object_table::hold_nested(const object_id& id, std::vector<ref_ptr> refs) {
  if (refs.empty())
    return;
  {
    std::lock_guard guard{mtx_};
    auto it = entries_.find(id);
    if (it != entries_.end()) {
      auto& nested = it->second.nested;
      nested.insert(nested.end(), std::make_move_iterator(refs.begin()),
                    std::make_move_iterator(refs.end()));
      return;
    }
  }
  refs.clear(); // the object is gone already: let them go, unlocked
}

void object_table::borrow_done() {
  if (unacked_.fetch_sub(1) == 1) {
    std::lock_guard guard{acked_mtx_};
    acked_cv_.notify_all();
  }
}

bool object_table::wait_acknowledged(std::chrono::steady_clock::time_point until) {
  if (unacked_.load() == 0)
    return true;
  std::unique_lock guard{acked_mtx_};
  return acked_cv_.wait_until(guard, until, [&] { return unacked_.load() == 0; });
}

ref_ptr object_table::create_actor_lifetime(const object_id& id) {
  std::lock_guard guard{mtx_};
  auto& e = entries_[id];
  e.owned = true;
  e.handles = 1;
  e.st = status::ready;
  e.actor_lifetime = true;
  e.value.enc = codec<unit_value>::enc;
  e.value.type_hash = codec<unit_value>::type_hash;
  e.value.type_name = std::string{codec<unit_value>::name};
  e.value.inline_data = std::make_shared<const std::vector<char>>();
  return make_handle(id, self_);
}

} // namespace troupe::detail
