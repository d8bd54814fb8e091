#include "store/object_store.hpp"

#include <atomic>
#include <bit>
#include <chrono>
#include <cstring>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include <unistd.h>

#include "object_meta_generated.h"
#include "store/object_meta.hpp"
#include "store/page_faults.hpp"
#include "store/object_layout.hpp"
#include "troupe/errors.hpp"

namespace troupe::store {

using namespace layout;

namespace {

/// Builds an object's metadata in this thread's builder (reused: no heap
/// allocation on the hot path) and returns it.
flatbuffers::FlatBufferBuilder& object_meta(const troupe::object_id& id,
                                            std::size_t data_size, std::uint64_t type_hash,
                                            std::string_view type_name, encoding enc,
                                            std::int32_t pid) {
  thread_local flatbuffers::FlatBufferBuilder fbb(256);
  fbb.Clear();
  auto name = fbb.CreateString(type_name.data(), type_name.size());
  fb::object_id fid{id.owner, id.seq};
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now);
  fbb.Finish(fb::Createobject_meta(fbb, &fid, data_size, type_hash, name,
                                   static_cast<fb::encoding>(enc), ns.count(), pid));
  return fbb;
}

} // namespace

object_store::object_store(allocator& alloc)
  : alloc_(alloc), state_(std::make_unique<state>()),
    pid_(static_cast<std::int32_t>(::getpid())) {
  // The layout is shared by every process of a node, whatever it was built
  // from: keep it fixed.
  static_assert(sizeof(header) == header_size);
  auto* base = alloc.base();
  auto cap = alloc.capacity();
  if (cap < heap_area(cap) + region_heap::overhead() + page_size)
    throw std::invalid_argument("a store needs more than " + std::to_string(cap)
                                + " bytes");
  auto& st = *state_;
  st.recover = [this] { recover(); };
  st.heap_at = heap_area(cap);
  st.control = &store_control::attach(base, [&] {
    region_heap::format(base, header_area(), header_area_size(cap));
    region_heap::format(base, st.heap_at, cap - st.heap_at);
  });
  st.headers.emplace(base, header_area());
  st.heap.emplace(base, st.heap_at);
  auto me = process_identity::self();
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      store_lock lock{*st.control, st.recover};
      for (std::uint32_t i = 0; i < max_processes; ++i) {
        auto& slot = st.control->slots[i];
        if (std::atomic_ref(slot.pid).load(std::memory_order_relaxed) != 0)
          continue;
        slot.start = me.start;
        slot.ns = me.ns;
        std::atomic_ref(slot.pid).store(me.pid, std::memory_order_release);
        st.slot = i;
        return;
      }
    }
    reap_dead(); // slots of processes that are gone become free
  }
  throw std::runtime_error("the object store is mapped by " + std::to_string(max_processes)
                           + " live processes already");
}


writable object_store::create(const troupe::object_id& id,
                              std::size_t data_size, std::uint64_t type_hash,
                              std::string_view type_name, encoding enc, std::uint64_t job) {
  auto w = allocate_object(id, data_size, type_hash, type_name, enc, job);
  // A large object is about to be written whole: map its pages at one read
  // fault per 64 KiB rather than take a write fault per page.
  if (data_size >= page_aligned_from)
    map_for_writing(w.data, data_size);
  return w;
}

writable object_store::create_copy(const troupe::object_id& id, const std::byte* src,
                                   std::size_t size, std::uint64_t type_hash,
                                   std::string_view type_name, encoding enc,
                                   std::uint64_t job) {
  auto w = allocate_object(id, size, type_hash, type_name, enc, job);
  if (size > 0)
    alloc_.copy_in(static_cast<std::size_t>(w.data - alloc_.base()), src, size);
  return w;
}

writable object_store::allocate_object(const troupe::object_id& id,
                                       std::size_t data_size, std::uint64_t type_hash,
                                       std::string_view type_name, encoding enc,
                                       std::uint64_t job, bool on_disk) {
  auto& st = *state_;
  auto full = [&](std::uint64_t free) {
    return troupe::object_store_full(
      "object store full: " + std::to_string(data_size)
      + " bytes requested, store holds " + std::to_string(alloc_.capacity())
      + " bytes, " + std::to_string(free) + " free");
  };
  // Checked first so that the size arithmetic below cannot overflow.
  if (data_size > alloc_.capacity() && !on_disk)
    throw full(stats().free_bytes);
  if (type_name.size() > max_type_name)
    throw std::invalid_argument("type name of " + std::to_string(
                                  type_name.size())
                                + " bytes is too long");
  auto& fbb = object_meta(id, data_size, type_hash, type_name, enc, pid_);
  auto meta_size = fbb.GetSize();
  // A large object's data is a block of its own (page-aligned: copies into
  // it run faster), its header one in the headers' heap.
  bool apart = data_size >= page_aligned_from || on_disk;
  auto data_at = align_up(sizeof(header) + meta_size, data_alignment);
  auto total = data_at + (on_disk ? 0 : data_size);
  std::uint64_t offset = 0;
  std::uint64_t data_block = 0;
  header* h = nullptr;
  {
    // The pin is this store's from the start: the entry is made first, so
    // that no unpin of this thread's can miss it.
    std::lock_guard guard{st.mtx};
    store_lock lock{*st.control, st.recover};
    if (!on_disk) check_job_room(*st.control, job, total);
    if (apart) {
      data_block = on_disk ? 0 : st.heap->allocate(data_size, page_size);
      if (data_block == 0 && !on_disk)
        throw full(st.heap->free_bytes() + st.headers->free_bytes());
      offset = st.headers->allocate(data_at, data_alignment);
      if (offset == 0) // the headers' heap is full: the main one takes it
        offset = st.heap->allocate(data_at, data_alignment);
      if (offset == 0) {
        if (data_block != 0)
          st.heap->deallocate(data_block);
        throw full(st.heap->free_bytes() + st.headers->free_bytes());
      }
    } else {
      offset = st.heap->allocate(total, data_alignment);
      if (offset == 0)
        throw full(st.heap->free_bytes() + st.headers->free_bytes());
    }
    h = new (alloc_.base() + offset) header{};
    h->data_block = data_block;
    h->state.store(state_created, std::memory_order_relaxed);
    h->meta_size = static_cast<std::uint32_t>(meta_size);
    h->data_size = data_size;
    h->data_at = static_cast<std::uint32_t>(data_at);
    h->id_owner = id.owner;
    h->id_seq = id.seq;
    h->job = job;
    if (on_disk) {
      h->flags = flag_external | flag_on_disk;
      ++st.control->fallback_objects;
      st.control->fallback_bytes += data_size;
    }
    h->hold(st.slot);
    std::memcpy(reinterpret_cast<std::byte*>(h) + sizeof(header),
                fbb.GetBufferPointer(), meta_size);
    // Release: whoever later sees the magic also sees the fields above. A
    // process killed before this store leaves a block that recovery frees.
    h->magic.store(header_magic, std::memory_order_release);
    ++st.control->live_objects;
    charge_locked(*h, static_cast<std::int64_t>(total));
    st.held[offset] = {1, 0, false};
  }
  if (on_disk)
    return {offset, nullptr, data_size};
  raise_high_water(apart ? data_block + data_size : offset + total);
  return {offset, h->data(alloc_.base()), data_size};
}

void object_store::charge_locked(const header& h, std::int64_t delta) {
  auto& c = *state_->control;
  c.bytes_in_use += static_cast<std::uint64_t>(delta); // wraps back for a negative one
  charge_job(c, h.job, delta);
}

void object_store::set_job_limit(std::uint64_t bytes) {
  auto& st = *state_;
  store_lock lock{*st.control, st.recover};
  st.control->job_limit = bytes;
}

std::uint64_t object_store::job_limit() const {
  auto& st = *state_;
  store_lock lock{*st.control, st.recover};
  return st.control->job_limit;
}

std::uint64_t object_store::job_bytes(std::uint64_t job) const {
  auto& st = *state_;
  store_lock lock{*st.control, st.recover};
  return store::job_bytes(*st.control, job);
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> object_store::job_shares() const {
  auto& st = *state_;
  store_lock lock{*st.control, st.recover};
  auto& c = *st.control;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  for (std::uint64_t i = 0; i < c.job_count && i < max_jobs; ++i)
    out.emplace_back(c.jobs[i].job, c.jobs[i].bytes);
  return out;
}

void object_store::raise_high_water(std::uint64_t end) {
  std::atomic_ref mark(state_->control->high_water);
  auto seen = mark.load(std::memory_order_relaxed);
  while (seen < end
         && !mark.compare_exchange_weak(seen, end, std::memory_order_relaxed)) {
  }
}

std::uint64_t object_store::high_water() const {
  return std::atomic_ref(state_->control->high_water).load(std::memory_order_relaxed);
}

object_store::header* object_store::live_header(std::uint64_t offset) const {
  auto cap = alloc_.capacity();
  if (offset % data_alignment != 0 || offset > cap || cap - offset < sizeof(header))
    return nullptr;
  auto* h = reinterpret_cast<header*>(alloc_.base() + offset);
  if (h->magic.load(std::memory_order_acquire) != header_magic)
    return nullptr;
  return h;
}

object_store::header&
object_store::checked_header(std::uint64_t offset) const {
  auto cap = alloc_.capacity();
  if (offset % data_alignment != 0)
    throw std::invalid_argument("no object at " + format_offset(offset)
                                + ": not 64-byte aligned");
  if (offset > cap || cap - offset < sizeof(header))
    throw std::invalid_argument("no object at " + format_offset(offset)
                                + ": outside the store of "
                                + std::to_string(cap) + " bytes");
  auto* h = live_header(offset);
  if (h == nullptr)
    throw std::invalid_argument("no object at " + format_offset(offset)
                                + ": no object header there");
  // The sizes come from shared memory: check them before using them.
  auto room = cap - offset;
  bool inline_data = h->data_block == 0 && !h->external();
  if (h->data_at % data_alignment != 0
      || h->data_at < sizeof(header) + std::uint64_t{h->meta_size} || h->data_at > room
      || (inline_data && h->data_size > room - h->data_at)
      || (h->data_block != 0 && (h->data_block > cap || h->data_size > cap - h->data_block)))
    throw std::invalid_argument("no object at " + format_offset(offset)
                                + ": implausible sizes in its header");
  return *h;
}

void object_store::seal(std::uint64_t offset) {
  auto& h = checked_header(offset);
  auto expected = state_created;
  // Release: a reader that sees `sealed` also sees the data written before.
  if (!h.state.compare_exchange_strong(expected, state_sealed,
                                       std::memory_order_acq_rel)) {
    if (expected == state_sealed)
      throw std::logic_error("object at " + format_offset(offset)
                             + " is sealed already");
    throw std::logic_error("object at " + format_offset(offset)
                           + " was freed");
  }
}

bool object_store::sealed(std::uint64_t offset) const {
  auto& h = checked_header(offset);
  return h.state.load(std::memory_order_acquire) == state_sealed;
}
readable object_store::view(std::uint64_t offset) const {
  bool verified = false;
  return view_of(offset, checked_header(offset), verified);
}

readable object_store::view_of(std::uint64_t offset, header& h, bool& verified) const {
  if (h.state.load(std::memory_order_acquire) != state_sealed)
    throw std::invalid_argument("object at " + format_offset(offset)
                                + " is not sealed");
  // Verified once per reader: it turns corrupt metadata into an error
  // rather than a wild read, and sealed metadata never changes.
  meta_fields meta;
  try {
    meta = read_meta(reinterpret_cast<const std::uint8_t*>(h.meta()), h.meta_size,
                     h.data_size, !verified);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("object at " + format_offset(offset) + " has " + e.what());
  }
  auto cap = alloc_.capacity();
  if (h.data_block != 0 && (h.data_block > cap || h.data_size > cap - h.data_block))
    throw std::invalid_argument("object at " + format_offset(offset)
                                + " has its data outside the store");
  verified = true;
  auto* data = h.external() ? disk_data(offset, h) : h.data(alloc_.base());
  return {data, h.data_size, meta.id, meta.type_hash, meta.type_name, meta.enc};
}
store_stats object_store::stats() const {
  auto& st = *state_;
  store_lock lock{*st.control, st.recover};
  std::uint64_t processes = 0;
  for (auto& slot : st.control->slots)
    processes += std::atomic_ref(slot.pid).load(std::memory_order_relaxed) != 0;
  return {alloc_.capacity(),     st.heap->free_bytes() + st.headers->free_bytes(),      st.control->live_objects,
          st.control->bytes_in_use, processes, st.control->recoveries,
          st.control->spilled_objects, st.control->spilled_bytes,
          st.control->fallback_objects, st.control->fallback_bytes};
}

std::string object_store::describe() const {
  auto s = stats();
  return "object store: " + std::to_string(s.live_objects) + " objects, "
         + std::to_string(s.bytes_in_use) + " bytes in use, "
         + std::to_string(s.free_bytes) + " of " + std::to_string(s.capacity)
         + " bytes free";
}

} // namespace troupe::store
