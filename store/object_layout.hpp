#pragma once

// The layout of an object store's region as object_store.cpp and
// object_holds.cpp see it: constants, an object's header and a store's
// process-local state. Internal to store/.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "object_meta_generated.h"
#include "store/object_store.hpp"
#include "store/region_heap.hpp"
#include "store/store_control.hpp"

namespace troupe::store {

namespace layout {

// Values of header::state. Zero is not a live state, so that zeroed or freed
// memory never looks like an object.
constexpr std::uint32_t state_created = 1;
constexpr std::uint32_t state_sealed = 2;
constexpr std::uint32_t state_freed = 3;

// Marks a live header; a bad offset almost never lands on this value.
// (Changed with the layout of version 2: holders, transit pins, the id.)
constexpr std::uint32_t header_magic = 0x7e0b5708;

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

inline std::string format_offset(std::uint64_t offset) {
  return "offset " + std::to_string(offset);
}

constexpr std::size_t holder_words = max_processes / 64;

/// Where the heap starts: after the control block.
inline std::uint64_t heap_area() {
  return align_up(sizeof(store_control), data_alignment);
}

} // namespace layout

struct object_store::header {
  std::atomic<std::uint32_t> magic; // 0 in a block whose writer died first
  std::atomic<std::uint32_t> state;
  std::uint32_t meta_size; // bytes of the object_meta flatbuffer
  std::uint32_t data_at;   // distance from the header to the data
  std::uint64_t data_size;
  std::uint64_t id_owner; // the object's id, as in the metadata
  std::uint64_t id_seq;
  // Under the store's lock:
  std::uint32_t transit;      // pins handed over and not adopted yet
  std::uint32_t transit_from; // slot + 1 of the process that handed the last over
  std::uint64_t reserved[2];
  std::uint64_t holders[layout::holder_words]; // bit s: the process of slot s holds it

  const std::byte* meta() const {
    return reinterpret_cast<const std::byte*>(this) + sizeof(header);
  }
  std::byte* data() {
    return reinterpret_cast<std::byte*>(this) + data_at;
  }
  troupe::object_id id() const {
    return {id_owner, id_seq};
  }
  void hold(std::uint32_t slot) {
    holders[slot / 64] |= std::uint64_t{1} << (slot % 64);
  }
  void drop(std::uint32_t slot) {
    holders[slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
  }
  bool holds(std::uint32_t slot) const {
    return (holders[slot / 64] >> (slot % 64)) & 1;
  }
  std::uint32_t holder_count() const {
    std::uint32_t n = 0;
    for (auto w : holders)
      n += static_cast<std::uint32_t>(std::popcount(w));
    return n;
  }
  bool held() const {
    if (transit != 0)
      return true;
    for (auto w : holders)
      if (w != 0)
        return true;
    return false;
  }
};

struct object_store::state {
  store_control* control = nullptr;
  std::optional<region_heap> heap;
  std::uint32_t slot = max_processes; // none until one is taken
  std::function<void()> recover; // for store_lock
  /// This store's pins, by offset; the object's holder bit is set while
  /// there is an entry.
  std::mutex mtx;
  std::unordered_map<std::uint64_t, std::uint32_t> pins;
  /// Slots (with their start times) found dead by the last `reap_dead`.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> seen_dead;
};

} // namespace troupe::store
