// Spilling: the data of sealed objects nobody reads goes to files when the
// store is full, and comes back when a process reads the object. The
// object's header stays in the region (offsets held anywhere stay valid);
// only its data leaves, and comes back at another place (`data_block`).
//
//     sealed --spill: mark (lock), write the file, give the data's memory back
//               (lock)--> spilled
//     spilled --read: take memory (lock), read the file, mark (lock)--> sealed
//
// The file I/O runs without the lock, with the object marked busy by its
// process (`spilling`, `restoring`): readers wait on the state word (a
// futex); a free asked meanwhile is left to the busy process (`doomed`);
// a busy process that dies is undone by the reaper (abandon_locked).
#include "store/object_layout.hpp"
#include "store/object_meta.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "troupe/errors.hpp"

namespace troupe::store {

using namespace layout;

namespace {

/// Waits (at most 100 ms) while the shared word `w` still holds `seen`.
void wait_for_change(std::atomic<std::uint32_t>& w, std::uint32_t seen) {
  timespec limit{0, 100'000'000};
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAIT, seen, &limit,
            nullptr, 0);
}

/// Wakes every process waiting on the shared word `w`.
void wake_all(std::atomic<std::uint32_t>& w) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAKE, INT32_MAX, nullptr,
            nullptr, 0);
}

} // namespace

std::uint64_t object_store::memory_of(const header& h, std::uint32_t state) {
  return h.data_at + (state == state_spilled || h.external() ? 0 : h.data_size);
}

std::string object_store::spill_path(const header& h, std::uint64_t offset) const {
  char name[96];
  std::snprintf(name, sizeof name, "/troupe-spill-%llx-%llx-%llx",
                static_cast<unsigned long long>(offset),
                static_cast<unsigned long long>(h.id_owner),
                static_cast<unsigned long long>(h.id_seq));
  return state_->control->spill_dir + std::string{name};
}

void object_store::forget_spill_file(header& h, std::uint64_t offset) {
  auto& c = *state_->control;
  ::unlink(spill_path(h, offset).c_str());
  h.flags &= ~flag_on_disk;
  if (h.external()) {
    --c.fallback_objects;
    c.fallback_bytes -= h.data_size;
  } else if (h.state.load(std::memory_order_relaxed) == state_spilled) {
    --c.spilled_objects;
    c.spilled_bytes -= h.data_size;
  }
}

void object_store::abandon_locked(header& h) {
  auto& st = *state_;
  auto offset = static_cast<std::uint64_t>(reinterpret_cast<std::byte*>(&h) - alloc_.base());
  auto state = h.state.load(std::memory_order_relaxed);
  if (state == state_restoring) {
    // Its reader died reading the file: the data is still only there.
    st.heap->deallocate(h.data_block);
    h.data_block = 0;
    charge_locked(h, -static_cast<std::int64_t>(h.data_size));
    ++st.control->spilled_objects;
    st.control->spilled_bytes += h.data_size;
    h.state.store(state_spilled, std::memory_order_release);
  } else if (state == state_spilling) {
    // Its spiller died writing the file; the data is still in memory.
    if (!(h.flags & flag_on_disk))
      ::unlink(spill_path(h, offset).c_str());
    h.state.store(state_sealed, std::memory_order_release);
  }
  h.busy = 0;
  wake_all(h.state);
}

void object_store::set_spill_dir(const std::string& dir) {
  auto& c = *state_->control;
  if (dir.size() >= sizeof c.spill_dir)
    throw std::invalid_argument("spill folder path of " + std::to_string(dir.size())
                                + " bytes is too long");
  store_lock lock{c, state_->recover};
  std::memset(c.spill_dir, 0, sizeof c.spill_dir);
  std::memcpy(c.spill_dir, dir.data(), dir.size());
}

spill_outcome object_store::spill(std::uint64_t bytes,
                                  const std::function<bool(std::uint64_t)>& skip) {
  auto& st = *state_;
  return spill_where([&](const header&, std::uint64_t offset) { return !skip || !skip(offset); },
                     [&] { return st.heap->free_bytes() + st.headers->free_bytes() >= bytes; });
}

spill_outcome object_store::spill_job(std::uint64_t job, std::uint64_t bytes) {
  if (job == 0)
    return {};
  auto& st = *state_;
  return spill_where([&](const header& h, std::uint64_t) { return h.job == job; },
                     [&] { return job_fits(*st.control, job, bytes); });
}

spill_outcome object_store::spill_where(
    const std::function<bool(const header&, std::uint64_t)>& take,
    const std::function<bool()>& enough) {
  auto& st = *state_;
  // Candidates, oldest first (their creation time is in the metadata).
  std::vector<std::pair<std::int64_t, std::uint64_t>> candidates;
  {
    store_lock lock{*st.control, st.recover};
    if (st.control->spill_dir[0] == '\0')
      return {0, 0, "spilling is off (no spill folder)"};
    if (enough())
      return {};
    st.for_each_block([&](std::uint64_t offset) {
      auto* h = live_header(offset);
      if (h == nullptr || h->state.load(std::memory_order_relaxed) != state_sealed
          || h->external() || h->read() || h->busy != 0 || !take(*h, offset))
        return;
      try {
        auto meta = read_meta(reinterpret_cast<const std::uint8_t*>(h->meta()), h->meta_size,
                              h->data_size);
        candidates.emplace_back(meta.created_ns, offset);
      } catch (const std::invalid_argument&) {
        // Corrupt metadata: its readers fail; spilling it would keep that.
      }
    });
  }
  std::sort(candidates.begin(), candidates.end());
  spill_outcome out;
  for (auto& [created, offset] : candidates) {
    if (spill_one(offset, out))
      ++out.objects;
    if (!out.error.empty())
      break;
    store_lock lock{*st.control, st.recover};
    if (enough())
      break;
  }
  return out;
}

bool object_store::spill_one(std::uint64_t offset, spill_outcome& out) {
  auto& st = *state_;
  header* h = nullptr;
  bool written = false;
  {
    store_lock lock{*st.control, st.recover};
    h = live_header(offset);
    if (h == nullptr || h->state.load(std::memory_order_relaxed) != state_sealed
        || h->external() || h->read() || h->busy != 0)
      return false; // read, freed or spilled meanwhile
    // Marked first, then the readers looked at (both seq_cst): a reader that
    // set its bit before sees `spilling` and backs off, or is seen here.
    h->state.store(state_spilling);
    if (h->read()) {
      h->state.store(state_sealed);
      return false;
    }
    h->busy = st.slot + 1;
    written = (h->flags & flag_on_disk) != 0;
  }
  auto path = spill_path(*h, offset);
  std::string error;
  if (!written) {
    auto fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      error = std::strerror(errno);
    else {
      error = transfer_file<true>(fd, h->data(alloc_.base()), h->data_size);
      ::close(fd);
    }
  }
  store_lock lock{*st.control, st.recover};
  h->busy = 0;
  if (!error.empty()) {
    ::unlink(path.c_str());
    out.error = "cannot write " + path + ": " + error;
    h->state.store(state_sealed, std::memory_order_release);
  } else {
    h->flags |= flag_on_disk;
    if (h->data_block != 0) {
      out.freed += h->data_size;
      st.heap->deallocate(std::exchange(h->data_block, 0));
    } else {
      out.freed += st.heap_of(offset).shrink(offset, h->data_at);
    }
    charge_locked(*h, -static_cast<std::int64_t>(h->data_size));
    ++st.control->spilled_objects;
    st.control->spilled_bytes += h->data_size;
    h->state.store(state_spilled, std::memory_order_release);
  }
  wake_all(h->state);
  if (h->flags & flag_doomed)
    free_locked(*h);
  return error.empty();
}

readable object_store::read(std::uint64_t offset) {
  auto& st = *state_;
  std::unique_lock guard{st.mtx};
  // An entry stays at 0 reads until this process's last pin goes: a get
  // allocates nothing.
  auto& e = st.held[offset];
  if (e.reads > 0) {
    ++e.reads; // read already: the data stays
    return view_of(offset, checked_header(offset), e.verified);
  }
  {
    // The common case takes no lock: the bit set, then the state looked at
    // (both seq_cst, as in spill_one). The caller holds a pin: the object
    // is not freed meanwhile.
    auto& h = checked_header(offset);
    h.read_by(st.slot);
    if (h.state.load() == state_sealed) {
      auto r = view_of(offset, h, e.verified);
      e.reads = 1;
      return r;
    }
    h.unread_by(st.slot);
  }
  for (;;) {
    std::uint64_t block = 0;
    header* h = nullptr;
    std::uint32_t seen = 0;
    {
      store_lock lock{*st.control, st.recover};
      h = &checked_header(offset);
      seen = h->state.load(std::memory_order_relaxed);
      if (seen == state_sealed) {
        h->read_by(st.slot);
        auto& held = st.held[offset];
        auto r = view_of(offset, *h, held.verified);
        held.reads = 1;
        return r;
      }
      if (seen == state_spilled) {
        auto align = h->data_size >= page_aligned_from ? page_size : data_alignment;
        block = st.heap->allocate(h->data_size, align);
        if (block == 0)
          throw troupe::object_store_full(
            "object store full: " + std::to_string(h->data_size)
            + " bytes to read object " + h->id().to_string() + " back from disk, "
            + std::to_string(st.heap->free_bytes()) + " free");
        h->data_block = block;
        h->busy = st.slot + 1;
        // Read back past its job's share, if need be: the reader needs it.
        charge_locked(*h, static_cast<std::int64_t>(h->data_size));
        --st.control->spilled_objects;
        st.control->spilled_bytes -= h->data_size;
        h->state.store(state_restoring, std::memory_order_relaxed);
      } else if (seen != state_spilling && seen != state_restoring) {
        throw std::invalid_argument("object at " + format_offset(offset) + " is not sealed");
      }
    }
    if (block == 0) {
      // Another process spills or reads it back: wait for it, without
      // holding this process's pins meanwhile.
      guard.unlock();
      wait_for_change(h->state, seen);
      guard.lock();
      continue;
    }
    if (restore(offset, *h)) {
      auto& held = st.held[offset];
      auto r = view_of(offset, *h, held.verified);
      held.reads = 1;
      return r;
    }
  }
}

bool object_store::restore(std::uint64_t offset, header& h) {
  auto& st = *state_;
  auto path = spill_path(h, offset);
  std::string error;
  auto fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    error = std::strerror(errno);
  else {
    error = transfer_file<false>(fd, alloc_.base() + h.data_block, h.data_size);
    ::close(fd);
  }
  store_lock lock{*st.control, st.recover};
  if (!error.empty()) {
    abandon_locked(h); // back to spilled; the next reader tries again
    if (h.flags & flag_doomed)
      free_locked(h);
    throw std::runtime_error("cannot read object " + h.id().to_string() + " back from "
                             + path + ": " + error);
  }
  h.busy = 0;
  h.state.store(state_sealed, std::memory_order_release);
  wake_all(h.state);
  if (h.flags & flag_doomed) {
    free_locked(h); // freed meanwhile: the reader finds it gone and says so
    return false;
  }
  h.read_by(st.slot); // before the lock goes: no spiller takes it again first
  return true;
}

bool object_store::end_read(std::uint64_t offset, freed_object* freed) {
  auto& st = *state_;
  std::lock_guard guard{st.mtx};
  auto it = st.held.find(offset);
  if (it == st.held.end() || it->second.reads == 0)
    throw std::logic_error("cannot end a read of the object at " + format_offset(offset)
                           + ": this process is not reading it");
  if (--it->second.reads > 0)
    return false;
  // Read: live and whole (a read holds it), no need to check it again.
  auto* h = reinterpret_cast<header*>(alloc_.base() + offset);
  h->unread_by(st.slot); // no lock: see read
  if (it->second.pins > 0)
    return false; // pinned here too: not freed now (the common case: no lock)
  st.held.erase(it);
  unmap_disk_data(offset);
  store_lock lock{*st.control, st.recover};
  return !h->held() && free_locked(*h, freed);
}

} // namespace troupe::store
