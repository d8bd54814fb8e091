#include "store/object_store.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <new>
#include <stdexcept>

#include <unistd.h>

#include "object_meta_generated.h"
#include "store/page_faults.hpp"
#include "troupe/errors.hpp"

namespace troupe::store {

namespace {

// Values of header::state. Zero is not a live state, so that zeroed or freed
// memory never looks like an object.
constexpr std::uint32_t state_created = 1;
constexpr std::uint32_t state_sealed = 2;
constexpr std::uint32_t state_freed = 3;

// Marks a live header; a bad offset almost never lands on this value.
constexpr std::uint32_t header_magic = 0x7e0b5707;

// Cache-line alignment for data: no false sharing between objects, and
// SIMD-friendly for raw arrays.
constexpr std::size_t data_alignment = 64;

// Data of large objects starts on a page. memcpy into shared memory ran at
// 3-8 GB/s when the destination was a little ahead of the source modulo 4 KiB
// (4K aliasing) and at 11-15 GB/s from a malloc'd buffer (page + 16) into a
// page; the padding costs under 0.4 % from this size on.
constexpr std::size_t page_size = 4096;
constexpr std::size_t page_aligned_from = 1024 * 1024;

// Keeps the header's 32-bit distance to the data far from overflowing.
constexpr std::size_t max_type_name = 64 * 1024;

constexpr const char* control_block_name = "troupe.store.control";

constexpr std::size_t align_up(std::size_t n, std::size_t a) {
  return (n + a - 1) & ~(a - 1);
}

// The counters and the header's fields are shared between processes: only
// lock-free atomics are address-free and work there.
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);

// troupe::encoding in the flatbuffers metadata: the same values.
static_assert(static_cast<int>(encoding::caf_binary)
              == static_cast<int>(fb::encoding::caf_binary));
static_assert(static_cast<int>(encoding::raw_array)
              == static_cast<int>(fb::encoding::raw_array));
static_assert(static_cast<int>(encoding::raw_array) == static_cast<int>(fb::encoding::MAX));

std::string format_offset(std::uint64_t offset) {
  return "offset " + std::to_string(offset);
}

} // namespace

struct object_store::header {
  std::atomic<std::uint32_t> magic;
  std::atomic<std::uint32_t> refcount;
  std::atomic<std::uint32_t> state;
  std::uint32_t meta_size; // bytes of the object_meta flatbuffer
  std::uint64_t data_size;
  std::uint32_t data_at; // distance from the header to the data
  std::uint32_t reserved;

  const std::byte* meta() const {
    return reinterpret_cast<const std::byte*>(this) + sizeof(header);
  }
  std::byte* data() {
    return reinterpret_cast<std::byte*>(this) + data_at;
  }
};

// Plain integers in a zero-filled named block, accessed through atomic_ref:
// the block is created by whichever process comes first, without running a
// constructor, and zero is a valid start.
struct object_store::control_block {
  std::uint64_t live_objects;
  std::uint64_t bytes_in_use;
  std::uint64_t high_water; ///< end of the furthest object ever created
};

object_store::object_store(allocator& alloc)
  : alloc_(alloc),
    control_(reinterpret_cast<control_block*>(
      alloc.named_block(control_block_name, sizeof(control_block)))),
    pid_(static_cast<std::int32_t>(::getpid())) {
  // The layout is shared by every process of a node, whatever it was built
  // from: keep it fixed.
  static_assert(sizeof(header) == 32);
}

writable object_store::create(const troupe::object_id& id,
                              std::size_t data_size, std::uint64_t type_hash,
                              std::string_view type_name, encoding enc) {
  auto w = allocate_object(id, data_size, type_hash, type_name, enc);
  // A large object is about to be written whole: map its pages at one read
  // fault per 64 KiB rather than take a write fault per page.
  if (data_size >= page_aligned_from)
    map_for_writing(w.data, data_size);
  return w;
}

writable object_store::create_copy(const troupe::object_id& id, const std::byte* src,
                                   std::size_t size, std::uint64_t type_hash,
                                   std::string_view type_name, encoding enc) {
  auto w = allocate_object(id, size, type_hash, type_name, enc);
  if (size > 0)
    alloc_.copy_in(static_cast<std::size_t>(w.data - alloc_.base()), src, size);
  return w;
}

writable object_store::allocate_object(const troupe::object_id& id,
                                       std::size_t data_size, std::uint64_t type_hash,
                                       std::string_view type_name, encoding enc) {
  auto full = [&] {
    return troupe::object_store_full(
      "object store full: " + std::to_string(data_size)
      + " bytes requested, store holds " + std::to_string(alloc_.capacity())
      + " bytes, " + std::to_string(alloc_.free_bytes()) + " free");
  };
  // Checked first so that the size arithmetic below cannot overflow.
  if (data_size > alloc_.capacity())
    throw full();
  if (type_name.size() > max_type_name)
    throw std::invalid_argument("type name of " + std::to_string(
                                  type_name.size())
                                + " bytes is too long");
  // One builder per thread, reused: no heap allocation on the hot path.
  thread_local flatbuffers::FlatBufferBuilder fbb(256);
  fbb.Clear();
  auto name = fbb.CreateString(type_name.data(), type_name.size());
  fb::object_id fid{id.owner, id.seq};
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now);
  fbb.Finish(fb::Createobject_meta(fbb, &fid, data_size, type_hash, name,
                                   static_cast<fb::encoding>(enc),
                                   ns.count(), pid_));
  auto meta_size = fbb.GetSize();
  auto align = data_size >= page_aligned_from ? page_size : data_alignment;
  auto data_at = align_up(sizeof(header) + meta_size, align);
  auto total = data_at + data_size;
  auto* mem = alloc_.allocate(total, align);
  if (mem == nullptr)
    throw full();
  auto* h = new (mem) header;
  h->refcount.store(1, std::memory_order_relaxed);
  h->state.store(state_created, std::memory_order_relaxed);
  h->meta_size = static_cast<std::uint32_t>(meta_size);
  h->data_size = data_size;
  h->data_at = static_cast<std::uint32_t>(data_at);
  h->reserved = 0;
  std::memcpy(reinterpret_cast<std::byte*>(h) + sizeof(header),
              fbb.GetBufferPointer(), meta_size);
  // Release: whoever later sees the magic also sees the fields above.
  h->magic.store(header_magic, std::memory_order_release);
  std::atomic_ref(control_->live_objects).fetch_add(1,
                                                    std::memory_order_relaxed);
  std::atomic_ref(control_->bytes_in_use).fetch_add(total,
                                                    std::memory_order_relaxed);
  auto offset = static_cast<std::uint64_t>(static_cast<std::byte*>(mem)
                                           - alloc_.base());
  raise_high_water(offset + total);
  return {offset, h->data(), data_size};
}

void object_store::raise_high_water(std::uint64_t end) {
  std::atomic_ref mark(control_->high_water);
  auto seen = mark.load(std::memory_order_relaxed);
  while (seen < end
         && !mark.compare_exchange_weak(seen, end, std::memory_order_relaxed)) {
  }
}

std::uint64_t object_store::high_water() const {
  return std::atomic_ref(control_->high_water).load(std::memory_order_relaxed);
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
  auto* h = reinterpret_cast<header*>(alloc_.base() + offset);
  if (h->magic.load(std::memory_order_acquire) != header_magic)
    throw std::invalid_argument("no object at " + format_offset(offset)
                                + ": no object header there");
  // The sizes come from shared memory: check them before using them.
  auto room = cap - offset;
  if (h->data_at % data_alignment != 0
      || h->data_at < sizeof(header) + std::uint64_t{h->meta_size}
      || h->data_at > room || h->data_size > room - h->data_at)
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

void object_store::pin(std::uint64_t offset) {
  auto& h = checked_header(offset);
  auto n = h.refcount.load(std::memory_order_relaxed);
  // A loop instead of fetch_add: an object whose last pin is gone must not
  // come back to life.
  do {
    if (n == 0)
      throw std::logic_error("cannot pin the object at "
                             + format_offset(offset) + ": it was freed");
  } while (!h.refcount.compare_exchange_weak(n, n + 1,
                                             std::memory_order_relaxed));
}

bool object_store::unpin(std::uint64_t offset, troupe::object_id* freed) {
  auto& h = checked_header(offset);
  auto n = h.refcount.load(std::memory_order_relaxed);
  do {
    if (n == 0)
      throw std::logic_error("cannot unpin the object at "
                             + format_offset(offset) + ": it has no pin");
  } while (!h.refcount.compare_exchange_weak(n, n - 1,
                                             std::memory_order_acq_rel));
  if (n != 1)
    return false;
  if (freed) {
    // The metadata was written (and checked) by `create`; read it before the
    // memory goes.
    auto* meta = fb::Getobject_meta(h.meta());
    if (meta->id())
      *freed = {meta->id()->owner(), meta->id()->seq()};
  }
  auto total = h.data_at + h.data_size;
  // Clear the marks first so that a stale offset fails cleanly instead of
  // reading whatever the allocator writes into freed memory.
  h.state.store(state_freed, std::memory_order_relaxed);
  h.magic.store(0, std::memory_order_release);
  std::atomic_ref(control_->live_objects).fetch_sub(1,
                                                    std::memory_order_relaxed);
  std::atomic_ref(control_->bytes_in_use).fetch_sub(total,
                                                    std::memory_order_relaxed);
  alloc_.deallocate(&h);
  return true;
}

readable object_store::view(std::uint64_t offset) const {
  auto& h = checked_header(offset);
  if (h.state.load(std::memory_order_acquire) != state_sealed)
    throw std::invalid_argument("object at " + format_offset(offset)
                                + " is not sealed");
  // Verifying costs little next to a read and turns corrupt metadata into
  // an error rather than a wild read.
  flatbuffers::Verifier verifier(reinterpret_cast<const std::uint8_t*>(
                                   h.meta()),
                                 h.meta_size);
  if (!fb::Verifyobject_metaBuffer(verifier))
    throw std::invalid_argument("object at " + format_offset(offset)
                                + " has corrupt metadata");
  auto* meta = fb::Getobject_meta(h.meta());
  // The verifier checks structure, not values: an unknown encoding is
  // caught here.
  if (meta->id() == nullptr || meta->data_size() != h.data_size
      || meta->encoding() > fb::encoding::MAX)
    throw std::invalid_argument("object at " + format_offset(offset)
                                + " has inconsistent metadata");
  troupe::object_id id{meta->id()->owner(), meta->id()->seq()};
  std::string_view type_name;
  if (auto* s = meta->type_name())
    type_name = std::string_view{s->data(), s->size()};
  return {h.data(), h.data_size, id, meta->type_hash(), type_name,
          static_cast<encoding>(meta->encoding())};
}

std::uint32_t object_store::pins(std::uint64_t offset) const {
  return checked_header(offset).refcount.load(std::memory_order_relaxed);
}

store_stats object_store::stats() const {
  return {
    alloc_.capacity(),
    alloc_.free_bytes(),
    std::atomic_ref(control_->live_objects).load(std::memory_order_relaxed),
    std::atomic_ref(control_->bytes_in_use).load(std::memory_order_relaxed),
  };
}

std::string object_store::describe() const {
  auto s = stats();
  return "object store: " + std::to_string(s.live_objects) + " objects, "
         + std::to_string(s.bytes_in_use) + " bytes in use, "
         + std::to_string(s.free_bytes) + " of " + std::to_string(s.capacity)
         + " bytes free";
}

} // namespace troupe::store
