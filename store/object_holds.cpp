// Who holds an object: pins, hand-overs, the holds of dead processes, and
// the repair after a process died holding the store's lock.
#include "store/object_layout.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <unistd.h>

namespace troupe::store {

using namespace layout;

object_store::~object_store() {
  auto& st = *state_;
  try {
    std::lock_guard guard{st.mtx};
    store_lock lock{*st.control, st.recover};
    for (auto& [offset, e] : st.held)
      if (auto* h = live_header(offset); h && e.reads > 0)
        h->unread_by(st.slot);
    for (auto& [offset, e] : st.held)
      if (auto* h = live_header(offset); h && e.pins > 0) {
        h->drop(st.slot);
        if (!h->held())
          free_locked(*h);
      }
    std::atomic_ref(st.control->slots[st.slot].pid).store(0, std::memory_order_release);
    while (!st.maps.empty())
      unmap_disk_data(st.maps.begin()->first);
  } catch (...) {
    // A destructor does not throw: what it left is reaped as a dead
    // process's holds.
  }
}

void object_store::pin(std::uint64_t offset) {
  auto& st = *state_;
  std::lock_guard guard{st.mtx};
  auto it = st.held.find(offset);
  if (it != st.held.end() && it->second.pins > 0) {
    ++it->second.pins; // held already: the count is this process's business
    return;
  }
  {
    store_lock lock{*st.control, st.recover};
    checked_header(offset).hold(st.slot);
  }
  st.held[offset].pins = 1;
}

namespace {

/// A store's holds of the object at `offset`, from its map `held`, with at
/// least one pin. Throws `std::logic_error` naming `what` when it has none.
template <class Map>
auto own_pins(Map& held, std::uint64_t offset, const char* what) {
  auto it = held.find(offset);
  if (it == held.end() || it->second.pins == 0)
    throw std::logic_error(std::string{"cannot "} + what + " the object at "
                           + format_offset(offset) + ": this process holds no pin of it");
  return it;
}

} // namespace

bool object_store::unpin(std::uint64_t offset, freed_object* freed) {
  auto& st = *state_;
  std::lock_guard guard{st.mtx};
  auto it = own_pins(st.held, offset, "unpin");
  if (--it->second.pins > 0)
    return false;
  if (it->second.reads == 0) {
    st.held.erase(it);
    unmap_disk_data(offset);
  }
  store_lock lock{*st.control, st.recover};
  auto* h = live_header(offset);
  if (h == nullptr)
    throw std::logic_error("cannot unpin the object at " + format_offset(offset)
                           + ": it was freed under its holder");
  h->drop(st.slot);
  return !h->held() && free_locked(*h, freed);
}

void object_store::hand_over(std::uint64_t offset) {
  auto& st = *state_;
  std::lock_guard guard{st.mtx};
  auto it = own_pins(st.held, offset, "hand over");
  store_lock lock{*st.control, st.recover};
  auto& h = checked_header(offset);
  ++h.transit;
  h.transit_from = st.slot + 1;
  if (--it->second.pins == 0) {
    h.drop(st.slot);
    if (it->second.reads == 0) {
      st.held.erase(it);
      unmap_disk_data(offset);
    }
  }
}

bool object_store::adopt(std::uint64_t offset, const troupe::object_id& id) {
  auto& st = *state_;
  std::lock_guard guard{st.mtx};
  {
    store_lock lock{*st.control, st.recover};
    auto* h = live_header(offset);
    if (h == nullptr || h->id() != id || h->transit == 0)
      return false;
    if (--h->transit == 0)
      h->transit_from = 0;
    h->hold(st.slot);
  }
  ++st.held[offset].pins;
  return true;
}

bool object_store::free_locked(header& h, freed_object* freed) {
  auto& st = *state_;
  if (h.busy != 0) {
    // Being spilled or read back by a process that works on it unlocked:
    // that process frees it when it is done.
    h.flags |= flag_doomed;
    return false;
  }
  auto offset = static_cast<std::uint64_t>(reinterpret_cast<std::byte*>(&h) - alloc_.base());
  auto state = h.state.load(std::memory_order_relaxed);
  if (freed)
    *freed = {h.id(), offset, h.data_size, state != state_created};
  if (h.flags & flag_on_disk)
    forget_spill_file(h, offset);
  // Clear the marks first so that a stale offset fails cleanly instead of
  // reading whatever the heap writes into freed memory.
  h.state.store(state_freed, std::memory_order_relaxed);
  h.magic.store(0, std::memory_order_release);
  --st.control->live_objects;
  charge_locked(h, -static_cast<std::int64_t>(memory_of(h, state)));
  if (h.data_block != 0)
    st.heap->deallocate(h.data_block);
  st.heap_of(offset).deallocate(offset);
  return true;
}

std::size_t object_store::reap_dead(const std::function<void(const freed_object&)>& on_freed,
                                    bool seen_before) {
  auto& st = *state_;
  // Asked without the lock (reading /proc takes a while), confirmed under it.
  std::vector<std::pair<std::uint32_t, process_identity>> dead;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> now_dead;
  for (std::uint32_t i = 0; i < max_processes; ++i) {
    auto& slot = st.control->slots[i];
    process_identity p{std::atomic_ref(slot.pid).load(std::memory_order_acquire), slot.ns,
                       slot.start};
    if (i == st.slot || p.pid == 0 || p.alive())
      continue;
    now_dead.emplace_back(i, p.start);
    if (!seen_before || std::find(st.seen_dead.begin(), st.seen_dead.end(),
                                  now_dead.back()) != st.seen_dead.end())
      dead.emplace_back(i, p);
  }
  st.seen_dead = std::move(now_dead);
  if (dead.empty())
    return 0;
  std::vector<freed_object> freed;
  std::vector<std::uint32_t> slots;
  {
    store_lock lock{*st.control, st.recover};
    for (auto& [i, p] : dead) {
      auto& slot = st.control->slots[i];
      if (slot.pid == p.pid && slot.ns == p.ns && slot.start == p.start)
        slots.push_back(i);
    }
    std::vector<header*> unheld;
    st.for_each_block([&](std::uint64_t offset) {
      auto* h = live_header(offset);
      if (h == nullptr)
        return;
      for (auto i : slots) {
        h->drop(i);
        h->unread_by(i);
        if (h->busy == i + 1)
          abandon_locked(*h); // it died spilling or reading back

        if (h->transit_from == i + 1) {
          // Its receiver, if it ever adopts, finds no transit pin and
          // treats the object as lost.
          h->transit = 0;
          h->transit_from = 0;
        }
      }
      if (!h->held())
        unheld.push_back(h);
    });
    for (auto* h : unheld)
      if (freed_object f; free_locked(*h, &f))
        freed.push_back(f);
    for (auto i : slots)
      std::atomic_ref(st.control->slots[i].pid).store(0, std::memory_order_release);
  }
  if (on_freed)
    for (auto& f : freed)
      on_freed(f);
  return slots.size();
}

void object_store::recover() {
  // Under the lock, taken from a process that died holding it: somewhere in
  // an allocation, a free, a change of holders, or the end of a spill or a
  // read-back. Each of those leaves the heap's chain walkable and a header
  // either whole (magic set last) or marked free (magic cleared first).
  auto& st = *state_;
  st.headers->rebuild();
  st.heap->rebuild();
  std::vector<std::uint64_t> blocks, data_blocks;
  st.for_each_block([&](std::uint64_t offset) {
    blocks.push_back(offset);
    if (auto* h = live_header(offset); h != nullptr && h->data_block != 0)
      data_blocks.push_back(h->data_block);
  });
  std::sort(data_blocks.begin(), data_blocks.end());
  std::uint64_t live = 0, bytes = 0;
  store_stats on_disk{};
  std::vector<std::pair<std::uint64_t, std::uint64_t>> shares; // (job, bytes), counted again
  for (auto offset : blocks) {
    if (std::binary_search(data_blocks.begin(), data_blocks.end(), offset))
      continue; // an object's data, read back from disk
    auto* h = live_header(offset);
    if (h != nullptr && h->busy != 0) {
      auto& slot = st.control->slots[h->busy - 1];
      if (!process_identity{slot.pid, slot.ns, slot.start}.alive())
        abandon_locked(*h);
    }
    if (h == nullptr || !h->held()) {
      // Made, or freed, halfway (an object, or a data block nobody names
      // yet or any more): with its data block and file, if it has them.
      if (h != nullptr) {
        if (h->flags & flag_on_disk)
          ::unlink(spill_path(*h, offset).c_str());
        h->magic.store(0, std::memory_order_release);
        if (h->data_block != 0)
          st.heap->deallocate(h->data_block);
      }
      st.heap_of(offset).deallocate(offset);
      continue;
    }
    auto state = h->state.load(std::memory_order_relaxed);
    ++live;
    auto memory = memory_of(*h, state);
    bytes += memory;
    shares.emplace_back(h->job, memory);
    if (h->external()) {
      ++on_disk.fallback_objects;
      on_disk.fallback_bytes += h->data_size;
    } else if (state == state_spilled) {
      ++on_disk.spilled_objects;
      on_disk.spilled_bytes += h->data_size;
    }
  }
  auto& c = *st.control;
  c.live_objects = live;
  c.bytes_in_use = bytes;
  c.spilled_objects = on_disk.spilled_objects;
  c.spilled_bytes = on_disk.spilled_bytes;
  c.fallback_objects = on_disk.fallback_objects;
  c.fallback_bytes = on_disk.fallback_bytes;
  clear_jobs(c);
  for (auto& [job, n] : shares)
    charge_job(c, job, static_cast<std::int64_t>(n));
}

std::uint32_t object_store::pins(std::uint64_t offset) const {
  auto& st = *state_;
  std::lock_guard guard{st.mtx};
  auto it = st.held.find(offset);
  std::uint32_t own = it == st.held.end() ? 0 : it->second.pins;
  store_lock lock{*st.control, st.recover};
  auto& h = checked_header(offset);
  auto others = h.holder_count() - (h.holds(st.slot) ? 1 : 0);
  return own + others + h.transit;
}

} // namespace troupe::store
