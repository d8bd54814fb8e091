#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace troupe::store {

/// A heap whose every structure lives inside the memory it manages, so that
/// processes which map that memory at different addresses share it, and
/// which a process killed in the middle of a change cannot corrupt for good.
///
/// The algorithm is two-level segregated fit (TLSF: Masmano et al., 2004):
/// free blocks sit in lists by size class, found in O(1) through two levels
/// of bitmaps. Every block starts with a 16-byte tag (its size with a used
/// bit, and the size of the block before it); payloads are 64-byte aligned.
///
/// Crash safety: the one authoritative structure is the chain of blocks,
/// walked from the first by their sizes. Every change of the chain is a
/// single aligned 8-byte store of a block's size word, made after whatever
/// it exposes is written, so the chain can be walked at any instant: a
/// split that did not happen leaves the block whole, a merge that did not
/// happen leaves two blocks. The free lists, the bitmaps, the free count and
/// the back sizes are derived, and `rebuild` makes them again from the chain
/// after a process died while changing them.
///
/// Offsets (of payloads) are relative to the region's base, so they mean the
/// same in every process. Not thread-safe: callers hold a lock (the object
/// store's robust mutex).
class region_heap {
public:
  /// Payloads and block sizes are multiples of this.
  static constexpr std::uint64_t granule = 64;

  /// Bytes of the heap's bookkeeping at the start of its area.
  static std::uint64_t overhead();

  /// Formats [area, area + size) of the region at `base` as an empty heap.
  /// `area` must be 64-byte aligned. Throws `std::invalid_argument` when the
  /// area cannot hold one block.
  static void format(std::byte* base, std::uint64_t area, std::uint64_t size);

  /// Attaches to the heap formatted at `area` of the region at `base` (in
  /// this process's mapping). Throws `std::invalid_argument` when none is.
  region_heap(std::byte* base, std::uint64_t area);

  /// Returns the offset of at least `bytes` bytes aligned to `alignment` (a
  /// power of two), or 0 when no free block fits. The payload's first 8
  /// bytes are zero.
  std::uint64_t allocate(std::uint64_t bytes, std::uint64_t alignment);

  /// Gives back the payload at `offset`. Throws `std::invalid_argument` when
  /// no allocated block has its payload there.
  void deallocate(std::uint64_t offset);

  /// Gives back the end of the allocated block whose payload is at `offset`,
  /// keeping its first `bytes` bytes (the payload stays where it is). Does
  /// nothing when what would go back is too small for a block. Returns the
  /// bytes given back. Throws `std::invalid_argument` as `deallocate`.
  std::uint64_t shrink(std::uint64_t offset, std::uint64_t bytes);

  /// Returns whether `offset` is the payload of an allocated block: a cheap
  /// check of the tag before it, not a walk.
  bool allocated(std::uint64_t offset) const;

  /// Bytes in free blocks, their tags included.
  std::uint64_t free_bytes() const;

  /// Bytes of all blocks, free and allocated.
  std::uint64_t size() const;

  /// Calls `f(offset, bytes)` for each allocated block's payload, in address
  /// order. `f` may not allocate or deallocate.
  void for_each_allocated(const std::function<void(std::uint64_t, std::uint64_t)>& f) const;

  /// Makes the derived structures again from the chain of blocks, merging
  /// free neighbours. Throws `std::runtime_error` when the chain itself is
  /// broken (which no crash can do; memory written over can).
  void rebuild();

private:
  struct meta;
  region_heap(std::byte* base, meta* m); // for format: no magic yet
  std::uint64_t& word(std::uint64_t at) const;
  std::uint64_t block_size(std::uint64_t block) const;
  bool block_used(std::uint64_t block) const;
  void set_size(std::uint64_t block, std::uint64_t size, bool used);
  void insert_free(std::uint64_t block);
  void remove_free(std::uint64_t block);
  std::uint64_t find_free(std::uint64_t size);
  /// A free block of the class of `size` whose payload is aligned already.
  std::uint64_t find_aligned(std::uint64_t size, std::uint64_t alignment);
  std::uint64_t split_front(std::uint64_t block, std::uint64_t keep);
  void split_tail(std::uint64_t block, std::uint64_t keep);

  std::byte* base_;
  meta* meta_;
};

} // namespace troupe::store
