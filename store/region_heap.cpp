#include "store/region_heap.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <stdexcept>
#include <string>

namespace troupe::store {

namespace {

constexpr std::uint64_t tag = 16;       // size word, back-size word
constexpr std::uint64_t min_block = 64; // a tag and two free-list links fit
constexpr std::uint64_t used_bit = 1;
constexpr std::uint64_t heap_magic = 0x74726f7570686570; // "troupheap"

// Size classes: below `small` one list per granule; above, a power of two
// split in 16 lists (a fit wastes at most 1/16 of a block).
constexpr unsigned granule_log2 = 6;
constexpr unsigned sl_log2 = 4;
constexpr unsigned sl_count = 1u << sl_log2;
constexpr std::uint64_t small = std::uint64_t{1} << (granule_log2 + sl_log2);
constexpr unsigned fl_count = 48; // blocks below 2^57 bytes

// A best-fit pass over the request's own list finds a block there that the
// rounded-up search would skip: with few large free blocks, that is the
// difference between fitting and "store full". Bounded, to stay O(1).
constexpr int exact_scan = 32;

constexpr std::uint64_t align_up(std::uint64_t n, std::uint64_t a) {
  return (n + a - 1) & ~(a - 1);
}

struct size_class {
  unsigned fl;
  unsigned sl;
};

size_class class_of(std::uint64_t size) {
  if (size < small)
    return {0, static_cast<unsigned>(size >> granule_log2)};
  auto f = static_cast<unsigned>(std::bit_width(size) - 1);
  auto sl = static_cast<unsigned>(size >> (f - sl_log2)) & (sl_count - 1);
  return {f - (granule_log2 + sl_log2) + 1, sl};
}

/// The smallest size whose class holds only blocks of at least `size`.
std::uint64_t round_to_class(std::uint64_t size) {
  if (size < small)
    return size;
  auto f = static_cast<unsigned>(std::bit_width(size) - 1);
  return size + (std::uint64_t{1} << (f - sl_log2)) - 1;
}

} // namespace

struct region_heap::meta {
  std::uint64_t magic;
  std::uint64_t first; ///< the first block
  std::uint64_t end;   ///< the end tag: size 0, used
  std::uint64_t free_bytes;
  std::uint64_t fl_bitmap;
  std::uint32_t sl_bitmap[fl_count];
  std::uint64_t heads[fl_count][sl_count];
};

std::uint64_t region_heap::overhead() {
  return align_up(sizeof(meta), granule) + granule;
}

void region_heap::format(std::byte* base, std::uint64_t area, std::uint64_t size) {
  if (area % granule != 0)
    throw std::invalid_argument("heap area not 64-byte aligned");
  auto first = align_up(area + sizeof(meta) + tag, granule) - tag;
  if (area + size < first + tag + min_block)
    throw std::invalid_argument("heap area of " + std::to_string(size)
                                + " bytes holds no block");
  auto end = first + (area + size - tag - first) / granule * granule;
  if (end - first < min_block)
    throw std::invalid_argument("heap area of " + std::to_string(size)
                                + " bytes holds no block");
  auto* m = reinterpret_cast<meta*>(base + area);
  std::memset(m, 0, sizeof(meta));
  m->first = first;
  m->end = end;
  region_heap h{base, m};
  h.word(first + 8) = 0;
  h.set_size(first, end - first, false);
  h.word(end + 8) = end - first;
  h.set_size(end, 0, true);
  h.insert_free(first);
  m->free_bytes = end - first;
  std::atomic_ref(m->magic).store(heap_magic, std::memory_order_release);
}

region_heap::region_heap(std::byte* base, meta* m) : base_(base), meta_(m) {
}

region_heap::region_heap(std::byte* base, std::uint64_t area)
  : base_(base), meta_(reinterpret_cast<meta*>(base + area)) {
  if (std::atomic_ref(meta_->magic).load(std::memory_order_acquire) != heap_magic)
    throw std::invalid_argument("no heap at offset " + std::to_string(area));
}

std::uint64_t& region_heap::word(std::uint64_t at) const {
  return *reinterpret_cast<std::uint64_t*>(base_ + at);
}

std::uint64_t region_heap::block_size(std::uint64_t block) const {
  return word(block) & ~(granule - 1);
}

bool region_heap::block_used(std::uint64_t block) const {
  return (word(block) & used_bit) != 0;
}

void region_heap::set_size(std::uint64_t block, std::uint64_t size, bool used) {
  // The one store that changes the chain. Release: the compiler (and the
  // CPU) may not move the writes it exposes after it, so a process killed
  // at any instruction leaves a walkable chain.
  std::atomic_ref(word(block)).store(size | (used ? used_bit : 0),
                                     std::memory_order_release);
}

void region_heap::insert_free(std::uint64_t block) {
  auto c = class_of(block_size(block));
  auto& head = meta_->heads[c.fl][c.sl];
  word(block + tag) = head;    // next
  word(block + tag + 8) = 0;   // prev
  if (head != 0)
    word(head + tag + 8) = block;
  head = block;
  meta_->sl_bitmap[c.fl] |= 1u << c.sl;
  meta_->fl_bitmap |= std::uint64_t{1} << c.fl;
}

void region_heap::remove_free(std::uint64_t block) {
  auto c = class_of(block_size(block));
  auto next = word(block + tag);
  auto prev = word(block + tag + 8);
  auto& head = meta_->heads[c.fl][c.sl];
  if (prev != 0)
    word(prev + tag) = next;
  else
    head = next;
  if (next != 0)
    word(next + tag + 8) = prev;
  if (head == 0) {
    meta_->sl_bitmap[c.fl] &= ~(1u << c.sl);
    if (meta_->sl_bitmap[c.fl] == 0)
      meta_->fl_bitmap &= ~(std::uint64_t{1} << c.fl);
  }
}

std::uint64_t region_heap::find_free(std::uint64_t size) {
  auto c = class_of(size);
  if (c.fl >= fl_count)
    return 0;
  std::uint64_t best = 0;
  auto b = meta_->heads[c.fl][c.sl];
  for (int i = 0; b != 0 && i < exact_scan; ++i, b = word(b + tag))
    if (block_size(b) >= size && (best == 0 || block_size(b) < block_size(best)))
      best = b;
  if (best != 0)
    return best;
  c = class_of(round_to_class(size));
  if (c.fl >= fl_count)
    return 0;
  auto sl_map = meta_->sl_bitmap[c.fl] & (~0u << c.sl);
  if (sl_map == 0) {
    auto fl_map = meta_->fl_bitmap & (~std::uint64_t{0} << (c.fl + 1));
    if (fl_map == 0)
      return 0;
    c.fl = static_cast<unsigned>(std::countr_zero(fl_map));
    sl_map = meta_->sl_bitmap[c.fl];
  }
  return meta_->heads[c.fl][std::countr_zero(sl_map)];
}

std::uint64_t region_heap::find_aligned(std::uint64_t size, std::uint64_t alignment) {
  auto c = class_of(size);
  if (c.fl >= fl_count)
    return 0;
  auto b = meta_->heads[c.fl][c.sl];
  for (int i = 0; b != 0 && i < exact_scan; ++i, b = word(b + tag))
    if (block_size(b) >= size && (b + tag) % alignment == 0)
      return b;
  return 0;
}

std::uint64_t region_heap::split_front(std::uint64_t block, std::uint64_t keep) {
  auto whole = block_size(block);
  auto rest = block + keep;
  word(rest + 8) = keep;
  set_size(rest, whole - keep, false);
  word(block + whole + 8) = whole - keep;
  set_size(block, keep, false); // commit: the front is a block of its own
  insert_free(block);
  return rest;
}

void region_heap::split_tail(std::uint64_t block, std::uint64_t keep) {
  auto whole = block_size(block);
  auto rest = block + keep;
  word(rest + 8) = keep;
  set_size(rest, whole - keep, false);
  word(block + whole + 8) = whole - keep;
  // The caller commits by setting the block's size to `keep`.
}

std::uint64_t region_heap::allocate(std::uint64_t bytes, std::uint64_t alignment) {
  alignment = alignment < granule ? granule : alignment;
  if (bytes > size() || alignment > size())
    return 0;
  auto need = align_up(bytes + tag, granule);
  // A block whose payload is aligned already fits as it is (the hole a block
  // of the same size and alignment left); else room to move the payload up
  // to the alignment, leaving a front block.
  auto block = alignment > granule ? find_aligned(need, alignment) : 0;
  if (block == 0)
    block = find_free(alignment > granule ? need + alignment + min_block : need);
  if (block == 0)
    return 0;
  remove_free(block);
  if (alignment > granule) {
    auto payload = align_up(block + tag, alignment);
    if (payload - tag != block && payload - tag - block < min_block)
      payload += alignment;
    if (payload - tag != block)
      block = split_front(block, payload - tag - block);
  }
  auto whole = block_size(block);
  bool split = whole - need >= min_block;
  if (split)
    split_tail(block, need);
  // The payload's first word (a dead free-list link now) is zero when the
  // block is committed: a block whose owner died before writing it can be
  // told from one holding what the owner wrote.
  word(block + tag) = 0;
  set_size(block, split ? need : whole, true); // commit
  if (split)
    insert_free(block + need);
  meta_->free_bytes -= block_size(block);
  return block + tag;
}

std::uint64_t region_heap::shrink(std::uint64_t offset, std::uint64_t bytes) {
  if (!allocated(offset))
    throw std::invalid_argument("no allocated block at offset " + std::to_string(offset));
  auto block = offset - tag;
  auto whole = block_size(block);
  auto keep = std::max(align_up(bytes + tag, granule), min_block);
  if (keep > whole || whole - keep < min_block)
    return 0;
  // The tail becomes an allocated block of its own (zeroed first word: not
  // an object's, should a crash leave it so), then is freed as any block,
  // merging with a free neighbour.
  auto rest = block + keep;
  split_tail(block, keep);
  set_size(rest, whole - keep, true);
  word(rest + tag) = 0;
  set_size(block, keep, true); // commit
  deallocate(rest + tag);
  return whole - keep;
}

bool region_heap::allocated(std::uint64_t offset) const {
  if (offset < meta_->first + tag || offset >= meta_->end)
    return false;
  auto block = offset - tag;
  if ((block - meta_->first) % granule != 0 || !block_used(block))
    return false;
  auto s = block_size(block);
  return s >= min_block && block + s <= meta_->end;
}

void region_heap::deallocate(std::uint64_t offset) {
  if (!allocated(offset))
    throw std::invalid_argument("no allocated block at offset " + std::to_string(offset));
  auto block = offset - tag;
  auto whole = block_size(block);
  meta_->free_bytes += whole;
  auto next = block + whole;
  if (next != meta_->end && !block_used(next)) {
    remove_free(next);
    whole += block_size(next);
  }
  set_size(block, whole, false); // commit: free, with the next one
  word(block + whole + 8) = whole;
  if (auto back = word(block + 8); back != 0) {
    auto prev = block - back;
    if (!block_used(prev)) {
      remove_free(prev);
      whole += block_size(prev);
      set_size(prev, whole, false); // commit: one with the previous one
      word(prev + whole + 8) = whole;
      block = prev;
    }
  }
  insert_free(block);
}

std::uint64_t region_heap::free_bytes() const {
  return meta_->free_bytes;
}

std::uint64_t region_heap::size() const {
  return meta_->end - meta_->first;
}

void region_heap::for_each_allocated(
  const std::function<void(std::uint64_t, std::uint64_t)>& f) const {
  for (auto b = meta_->first; b < meta_->end; b += block_size(b)) {
    auto s = block_size(b);
    if (s < min_block)
      break; // broken chain: rebuild says so
    if (block_used(b))
      f(b + tag, s - tag);
  }
}

void region_heap::rebuild() {
  auto* m = meta_;
  m->fl_bitmap = 0;
  std::memset(m->sl_bitmap, 0, sizeof m->sl_bitmap);
  std::memset(m->heads, 0, sizeof m->heads);
  std::uint64_t free = 0;
  std::uint64_t run = 0; // the free block being extended, 0: none
  std::uint64_t back = 0;
  auto b = m->first;
  while (b != m->end) {
    auto s = block_size(b);
    if (s < min_block || b + s > m->end)
      throw std::runtime_error("store heap broken at offset " + std::to_string(b)
                               + ": block of " + std::to_string(s) + " bytes");
    word(b + 8) = back;
    if (block_used(b)) {
      if (run != 0) {
        insert_free(run);
        free += block_size(run);
        run = 0;
      }
      back = s;
    } else if (run != 0) {
      set_size(run, block_size(run) + s, false); // a merge a crash cut short
      back = block_size(run);
    } else {
      run = b;
      back = s;
    }
    b += s;
  }
  if (run != 0) {
    insert_free(run);
    free += block_size(run);
  }
  word(m->end + 8) = back;
  m->free_bytes = free;
}

} // namespace troupe::store
