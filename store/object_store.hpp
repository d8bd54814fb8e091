#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/allocator.hpp"
#include "troupe/encoding.hpp"
#include "troupe/object_id.hpp"

namespace troupe::store {

/// Where an object lives in the region: what other processes are told.
struct object_info {
  std::uint64_t offset; ///< of the object's header, relative to the base
  std::uint64_t size;   ///< number of data bytes
};

/// A newly created object, open for writing until it is sealed.
struct writable {
  std::uint64_t offset; ///< identifies the object in every process
  std::byte* data;      ///< `size` bytes in this process, 64-byte aligned
  std::size_t size;
};

/// A sealed object. Pointers stay valid while the reader holds a pin.
struct readable {
  const std::byte* data; ///< 64-byte aligned
  std::size_t size;
  troupe::object_id id;
  std::uint64_t type_hash;
  std::string_view type_name; ///< points into the region
  encoding enc;
};

/// Occupancy of the whole store, as seen by every process that maps it.
struct store_stats {
  std::size_t capacity;       ///< size of the region
  std::size_t free_bytes;     ///< free in the region (possibly fragmented)
  std::uint64_t live_objects; ///< objects created and not yet freed
  std::uint64_t bytes_in_use; ///< bytes those objects take, headers included
};

/// One process's view of a node's object store: objects in a region handed
/// out by an `allocator`, usually shared memory that every process of the
/// node maps. Objects are named by offsets, which mean the same in every
/// process. All methods are thread-safe, and safe against other processes
/// working on the same region.
///
/// Layout of one object (the header at a 64-byte aligned offset):
///
///     [ header 32 B | object_meta flatbuffer | pad | data ]
///
/// Data is 64-byte aligned, and page-aligned from 1 MiB on (copies into it
/// run faster).
///
/// Lifecycle of one object:
///
///     --(1) create--> created --(2) seal--> sealed --(3) last unpin--> freed
///                        |                                               ^
///                        +----------------(3) last unpin-----------------+
///
/// 1. `create` allocates it with one pin, the creator's; it is writable.
/// 2. `seal` makes it immutable and readable through `view`.
/// 3. Each `pin` adds a pin, each `unpin` removes one; the last frees the
///    memory (also before sealing, when the creator gives up).
class object_store {
public:
  /// Works on `alloc`, which must outlive the store. Several stores, in one
  /// or in several processes, may share one region. A child made by `fork`
  /// constructs its own store, as the creator pid is taken here.
  explicit object_store(allocator& alloc);

  object_store(const object_store&) = delete;
  object_store& operator=(const object_store&) = delete;

  /// Allocates an object of `data_size` bytes with its metadata, pinned
  /// once, for the caller to fill and then `seal`. Throws
  /// `troupe::object_store_full` when it does not fit.
  writable create(const troupe::object_id& id, std::size_t data_size,
                  std::uint64_t type_hash, std::string_view type_name,
                  encoding enc);

  /// As `create`, then copies the `size` bytes at `src` in as its data, by
  /// the fastest way for the store's pages (see `allocator::copy_in`).
  writable create_copy(const troupe::object_id& id, const std::byte* src,
                       std::size_t size, std::uint64_t type_hash,
                       std::string_view type_name, encoding enc);

  /// Makes the object immutable and visible to readers. Throws
  /// `std::logic_error` when it was sealed already.
  void seal(std::uint64_t offset);

  /// Returns whether the object is sealed.
  bool sealed(std::uint64_t offset) const;

  /// Adds a pin: the object stays in memory until every pin is removed.
  /// Throws `std::logic_error` when the object was freed.
  void pin(std::uint64_t offset);

  /// Removes a pin and frees the object with its last one. Returns whether
  /// the object was freed, and then sets `*freed` (when given) to its id.
  /// Throws `std::logic_error` when it had no pin.
  bool unpin(std::uint64_t offset, troupe::object_id* freed = nullptr);

  /// Returns the sealed object at `offset`. Throws `std::invalid_argument`
  /// when no sealed object is there, so that a malformed offset from another
  /// process is an error and not a crash.
  readable view(std::uint64_t offset) const;

  /// Returns the object's current number of pins (for tests and `describe`).
  std::uint32_t pins(std::uint64_t offset) const;

  /// Returns the occupancy of the store.
  store_stats stats() const;

  /// Returns a one-line summary, e.g. for `troupe status`.
  std::string describe() const;

  /// Returns the high-water mark: the end (as an offset) of the furthest
  /// object ever created, by any process. The allocator takes the best
  /// fitting free block and splits it from its front, so a region fills from
  /// its start and the bytes beyond the mark were never written.
  std::uint64_t high_water() const;

private:
  struct header;
  struct control_block;

  header& checked_header(std::uint64_t offset) const;
  /// `create` without preparing the data's pages for the writer.
  writable allocate_object(const troupe::object_id& id, std::size_t data_size,
                           std::uint64_t type_hash, std::string_view type_name,
                           encoding enc);
  void raise_high_water(std::uint64_t end);

  allocator& alloc_;
  control_block* control_;
  std::int32_t pid_; // written into each object's metadata
};

} // namespace troupe::store
