#pragma once

#include <cstddef>
#include <memory>
#include <string>

// Boost.Interprocess stays out of this header: it is heavy to compile, and
// every user of the store includes this file.

namespace troupe::store {

/// One contiguous region of memory that the object store manages: process
/// memory in tests, a shared-memory segment on a node. The store keeps all
/// its structures inside the region (store/region_heap.hpp), so that this
/// interface only says where the region is and how to write into it fast.
/// A fresh region is zero-filled.
///
/// Pointers are only meaningful in the calling process: each process maps a
/// shared region at its own address. What crosses processes is an offset
/// relative to `base()`.
class allocator {
public:
  virtual ~allocator();

  /// Returns the size of the whole region in bytes.
  virtual std::size_t capacity() const = 0;

  /// Returns the start of the region in this process: offsets are relative
  /// to it.
  virtual std::byte* base() const = 0;

  /// Makes the memory of [offset, offset + bytes) exist without touching it,
  /// so that touching it later cannot fail for lack of room. Returns false
  /// when there is no room. Process memory always exists: the default
  /// returns true.
  virtual bool reserve(std::size_t offset, std::size_t bytes);

  /// Copies `n` bytes from `src` to [offset, offset + n) of the region, by
  /// whatever is fastest for the pages they land on. The default memcpy's.
  virtual void copy_in(std::size_t offset, const std::byte* src, std::size_t n);
};

/// A zero-filled region of process memory, for tests and for single-process
/// use.
class heap_allocator final : public allocator {
public:
  /// Reserves a region of `capacity` bytes.
  explicit heap_allocator(std::size_t capacity);
  ~heap_allocator() override;

  heap_allocator(const heap_allocator&) = delete;
  heap_allocator& operator=(const heap_allocator&) = delete;

  std::size_t capacity() const override;
  std::byte* base() const override;

private:
  struct free_deleter {
    void operator()(std::byte* p) const noexcept;
  };
  std::unique_ptr<std::byte, free_deleter> buffer_;
  std::size_t capacity_;
};

/// A named POSIX shared-memory segment (`/dev/shm/NAME`, made and mapped
/// with Boost.Interprocess), mapped by every process of a node.
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

  std::size_t capacity() const override;
  std::byte* base() const override;
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
