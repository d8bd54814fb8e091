#pragma once

// The layout of an object store's region as object_store.cpp and
// object_holds.cpp see it: constants, an object's header and a store's
// process-local state. Internal to store/.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <unistd.h>

#include "object_meta_generated.h"
#include "store/job_shares.hpp"
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
constexpr std::uint32_t state_spilling = 4;  // sealed, its data being written to disk
constexpr std::uint32_t state_spilled = 5;   // its data only in its spill file
constexpr std::uint32_t state_restoring = 6; // its data being read back

// Bits of header::flags.
constexpr std::uint32_t flag_on_disk = 1; // its spill file holds its data
constexpr std::uint32_t flag_doomed = 2;  // freed while busy: its busy process frees it
constexpr std::uint32_t flag_external = 4; // fallback: its data only ever in its file

// Marks a live header; a bad offset almost never lands on this value.
// (Changed with each layout: 3 adds readers and spilling, 4 fallback.)
constexpr std::uint32_t header_magic = 0x7e0b570a;

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

/// Where the headers' heap starts: after the control block. The headers of
/// large objects (data_size >= page_aligned_from) live there, their data in
/// the main heap: a spilled object frees a hole its own size, not one cut
/// by its header.
inline std::uint64_t header_area() {
  return align_up(sizeof(store_control), data_alignment);
}

/// Bytes of the headers' heap in a region of `capacity` bytes.
inline std::uint64_t header_area_size(std::uint64_t capacity) {
  return align_up(std::max<std::uint64_t>(capacity / 64, 64 * 1024), page_size);
}

/// Where the main heap starts.
inline std::uint64_t heap_area(std::uint64_t capacity) {
  return header_area() + header_area_size(capacity);
}

/// Writes or reads [p, p + n) at the start of file `fd`; the errno text, or
/// "" when all went.
template <bool Write>
inline std::string transfer_file(int fd, std::byte* p, std::uint64_t n) {
  std::uint64_t done = 0;
  while (done < n) {
    auto chunk = std::min<std::uint64_t>(n - done, 64u << 20);
    auto r = Write ? ::pwrite(fd, p + done, chunk, static_cast<off_t>(done))
                   : ::pread(fd, p + done, chunk, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return std::strerror(errno);
    if (r == 0)
      return Write ? "nothing written" : "the file is shorter than the object";
    done += static_cast<std::uint64_t>(r);
  }
  return {};
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
  std::uint64_t data_block;   // where the data is when read back from disk; 0: in place
  std::uint32_t busy;         // slot + 1 of the process spilling or restoring it
  std::uint32_t flags;        // flag_on_disk, flag_doomed
  std::uint64_t holders[layout::holder_words]; // bit s: the process of slot s holds it
  std::uint64_t readers[layout::holder_words]; // bit s: ... is reading its data
  std::uint64_t job; // the job its bytes count for (0: none); never changes

  const std::byte* meta() const {
    return reinterpret_cast<const std::byte*>(this) + sizeof(header);
  }
  /// Where the data is, in the mapping at `base` (spilled: nowhere).
  std::byte* data(std::byte* base) {
    return data_block != 0 ? base + data_block : reinterpret_cast<std::byte*>(this) + data_at;
  }
  // Reader bits change without the lock (a get of an object in memory
  // takes no lock): seq_cst, paired with the spiller's seq_cst state change
  // (spill_one), so that a reader and a spiller never both go ahead.
  void read_by(std::uint32_t slot) {
    std::atomic_ref(readers[slot / 64]).fetch_or(std::uint64_t{1} << (slot % 64));
  }
  void unread_by(std::uint32_t slot) {
    std::atomic_ref(readers[slot / 64]).fetch_and(~(std::uint64_t{1} << (slot % 64)));
  }
  // Set before the header is published and never changed: read unlocked.
  bool external() const {
    auto f = std::atomic_ref(const_cast<std::uint32_t&>(flags)).load(std::memory_order_relaxed);
    return (f & layout::flag_external) != 0;
  }
  bool read() {
    for (auto& w : readers)
      if (std::atomic_ref(w).load() != 0)
        return true;
    return false;
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
  /// Whether a process holds it, reads it, or it is in transit.
  bool held() {
    if (transit != 0 || read())
      return true;
    for (auto w : holders)
      if (w != 0)
        return true;
    return false;
  }
};

/// A process-local lock for a store's pin and read counts: held for a few
/// map operations, so spinning beats a futex-backed mutex (whose lock and
/// unlock took a fifth of a `get` of a small object); it yields when the
/// holder was preempted.
class spin_mutex {
public:
  void lock() noexcept {
    for (int spins = 0; held_.exchange(true, std::memory_order_acquire); ++spins) {
      while (held_.load(std::memory_order_relaxed)) {
        if (++spins > 64)
          std::this_thread::yield();
      }
    }
  }
  bool try_lock() noexcept { return !held_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { held_.store(false, std::memory_order_release); }

private:
  std::atomic<bool> held_{false};
};

struct object_store::state {
  store_control* control = nullptr;
  std::optional<region_heap> heap;    ///< objects, and large objects' data
  std::optional<region_heap> headers; ///< large objects' headers
  std::uint64_t heap_at = 0;          ///< where `heap` starts

  region_heap& heap_of(std::uint64_t offset) { return offset < heap_at ? *headers : *heap; }

  /// Calls `f(offset)` for every allocated block of both heaps.
  template <class F>
  void for_each_block(F&& f) {
    headers->for_each_allocated([&](std::uint64_t o, std::uint64_t) { f(o); });
    heap->for_each_allocated([&](std::uint64_t o, std::uint64_t) { f(o); });
  }
  std::uint32_t slot = max_processes; // none until one is taken
  std::function<void()> recover; // for store_lock
  /// This store's pins and reads of an object. Its holder bit is set while
  /// `pins` > 0, its reader bit while `reads` > 0. An entry stays (at 0
  /// reads) while the object is pinned, so a repeated get allocates nothing.
  struct holds {
    std::uint32_t pins = 0;
    std::uint32_t reads = 0;
    bool verified = false; ///< its metadata checked once (it never changes)
  };
  spin_mutex mtx;
  std::unordered_map<std::uint64_t, holds> held;
  /// This process's mappings of fallback objects' files, by offset: made at
  /// the first view, dropped with the process's last hold (disk_mappings).
  struct disk_mapping {
    std::byte* at = nullptr;
    std::size_t size = 0;
    troupe::object_id id;
  };
  std::mutex maps_mtx;
  std::unordered_map<std::uint64_t, disk_mapping> maps;
  std::atomic<std::size_t> mapped{0}; ///< maps.size(), read without the mutex
  /// Slots (with their start times) found dead by the last `reap_dead`.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> seen_dead;
};

} // namespace troupe::store
