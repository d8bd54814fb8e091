#pragma once

#include <cstddef>
#include <memory>
#include <string>

// Boost.Interprocess stays out of this header: it is heavy to compile, and
// every user of the store includes this file.

namespace troupe::store {

/// Hands out memory of one contiguous region (as Ray's `plasma/allocator.h`).
/// The object store sits on this interface so that tests can use heap memory
/// while the node uses shared memory. Every method is thread-safe.
///
/// Pointers are only meaningful in the calling process: each process maps a
/// shared region at its own address. What crosses processes is an offset
/// relative to `base()`.
class allocator {
public:
  virtual ~allocator();

  /// Returns `bytes` bytes aligned to `alignment` (a power of two), or
  /// `nullptr` when they do not fit. Never throws for lack of room.
  virtual void* allocate(std::size_t bytes, std::size_t alignment) = 0;

  /// Gives back memory returned by `allocate` (in any process).
  virtual void deallocate(void* p) = 0;

  /// Returns the size of the whole region in bytes.
  virtual std::size_t capacity() const = 0;

  /// Returns how many bytes are free (possibly fragmented).
  virtual std::size_t free_bytes() const = 0;

  /// Returns the start of the region in this process: offsets are relative
  /// to it.
  virtual std::byte* base() const = 0;

  /// Returns a zero-filled block of `bytes` bytes registered under `name`,
  /// creating it on first use. Every process that maps the region gets the
  /// same block, also when several create it at once, so it can hold shared
  /// bookkeeping such as counters. Throws `std::bad_alloc` when it does not
  /// fit and `std::invalid_argument` when `name` exists with another size.
  virtual std::byte* named_block(const char* name, std::size_t bytes) = 0;

  /// Makes the memory of [offset, offset + bytes) exist without touching it,
  /// so that touching it later cannot fail for lack of room. Returns false
  /// when there is no room. Process memory always exists: the default
  /// returns true.
  virtual bool reserve(std::size_t offset, std::size_t bytes);

  /// Copies `n` bytes from `src` to [offset, offset + n) of the region, by
  /// whatever is fastest for the pages they land on. The default memcpy's.
  virtual void copy_in(std::size_t offset, const std::byte* src, std::size_t n);
};

/// An allocator over one region of process memory, for tests and for
/// single-process use. Managed by the same algorithm as `shm_allocator`.
class heap_allocator final : public allocator {
public:
  /// Reserves a region of `capacity` bytes.
  explicit heap_allocator(std::size_t capacity);
  ~heap_allocator() override;

  heap_allocator(const heap_allocator&) = delete;
  heap_allocator& operator=(const heap_allocator&) = delete;

  void* allocate(std::size_t bytes, std::size_t alignment) override;
  void deallocate(void* p) override;
  std::size_t capacity() const override;
  std::size_t free_bytes() const override;
  std::byte* base() const override;
  std::byte* named_block(const char* name, std::size_t bytes) override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// An allocator over a named POSIX shared-memory segment (`/dev/shm/NAME`),
/// mapped by every process of a node. The segment's bookkeeping, guarded by
/// an interprocess mutex inside the segment, makes `allocate` and
/// `deallocate` safe from several processes at once.
///
/// Caveat: that mutex is not robust. A process killed while it allocates
/// leaves it locked and the store unusable until the segment is recreated.
class shm_allocator final : public allocator {
public:
  /// Creates the segment `name` of `capacity` bytes and maps it, first
  /// removing a stale segment of that name (left by a crashed node).
  /// Throws `std::runtime_error` when the segment cannot be created.
  static std::unique_ptr<shm_allocator> create(const std::string& name,
                                               std::size_t capacity);

  /// Maps the existing segment `name`. Throws `std::runtime_error` when
  /// there is none.
  static std::unique_ptr<shm_allocator> open(const std::string& name);

  /// Removes the segment `name`; processes that map it keep their mapping.
  /// Returns whether a segment was removed.
  static bool remove(const std::string& name) noexcept;

  /// Unmaps the segment (it stays until `remove`).
  ~shm_allocator() override;

  shm_allocator(const shm_allocator&) = delete;
  shm_allocator& operator=(const shm_allocator&) = delete;

  void* allocate(std::size_t bytes, std::size_t alignment) override;
  void deallocate(void* p) override;
  std::size_t capacity() const override;
  std::size_t free_bytes() const override;
  std::byte* base() const override;
  std::byte* named_block(const char* name, std::size_t bytes) override;
  /// Allocates the pages of the segment's file (fallocate): no byte changes.
  bool reserve(std::size_t offset, std::size_t bytes) override;
  /// A large copy goes to pages that exist by memcpy, and to pages that do
  /// not by `pwrite` on the segment's file: the kernel then allocates them
  /// without zeroing them first and without a fault per page (3.6 GB/s
  /// against 1.2-1.5 for memcpy into pages that never existed, measured on
  /// the 2-core VM; 8-15 GB/s for memcpy into pages that exist).
  void copy_in(std::size_t offset, const std::byte* src, std::size_t n) override;

  /// Returns the segment's name.
  const std::string& name() const noexcept { return name_; }

private:
  struct impl;
  shm_allocator(std::string name, std::unique_ptr<impl> impl);

  std::string name_;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::store
