#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "store/allocator.hpp"

namespace troupe::store {

/// Makes the pages of a fresh shared-memory segment exist ahead of use, on a
/// thread of its own, so that the first writes into a new store do not pay
/// for allocating them (page_faults.hpp).
///
/// It keeps the pages from the start of the region up to `ahead` bytes past
/// the store's high-water mark in existence, `step` bytes at a time, and
/// follows the mark as the store fills: a store that holds little costs
/// little RAM, and a big object written soon after start finds its pages.
/// When the mark passes it (an object made where it had not got to yet), it
/// goes on from the mark: that object's writer faults in its pages anyway.
/// Each step reserves the pages (no byte changes, and no room is an error,
/// not a SIGBUS), then reads each once, which zero-fills it and leaves it
/// ready for every process to map 64 KiB per fault. It writes no byte and
/// takes no lock of the allocator, so processes allocate and write in the
/// region meanwhile; plain page faults take no address-space lock that a
/// preempted thread could keep from others. The thread runs at nice 19: it
/// takes the CPU that start-up and the store's users leave.
///
///     running --(1) populated < target: one step--------------> running
///        |    --(2) populated = target: waits for the mark (20 ms)--^
///        +--(3) stop, destruction, or no room--> stopped
class prefaulter {
public:
  /// Returns the high-water mark: bytes from the start of the region that
  /// the store ever handed out.
  using mark_fn = std::function<std::uint64_t()>;

  /// Starts the thread over the region of `alloc`, which must outlive it.
  prefaulter(allocator& alloc, mark_fn high_water, std::size_t ahead,
             std::size_t step = 2u << 20);
  ~prefaulter();

  prefaulter(const prefaulter&) = delete;
  prefaulter& operator=(const prefaulter&) = delete;

  /// Stops the thread after its current step (milliseconds).
  void stop();

  /// Returns how far into the region the thread got: the pages before are
  /// populated, by it or by writers of objects it skipped.
  std::size_t populated() const noexcept { return populated_.load(); }

  /// Returns the bytes the thread populates when the mark is `mark`.
  std::size_t target(std::uint64_t mark) const noexcept;

private:
  void run();

  allocator& alloc_;
  std::size_t capacity_;
  mark_fn high_water_;
  std::size_t ahead_;
  std::size_t step_;
  std::atomic<std::size_t> populated_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

/// Returns how far ahead of the high-water mark a store of `capacity` bytes
/// keeps its pages: a quarter of it, at least 64 MiB and at most 1 GiB,
/// never more than the store.
std::size_t prefault_ahead(std::size_t capacity) noexcept;

} // namespace troupe::store
