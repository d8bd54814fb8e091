#include "store/prefaulter.hpp"

#include <algorithm>
#include <chrono>

#include <sys/resource.h>
#include <unistd.h>

#include "store/page_faults.hpp"

namespace troupe::store {

namespace {

// How often an idle prefaulter looks at the high-water mark: often enough
// to follow a store that fills, rare enough to cost nothing.
constexpr auto poll_interval = std::chrono::milliseconds(20);

// A node and its first workers start in 20-60 ms here: populating meanwhile
// made that slower (cluster_start_s 0.023 -> 0.031 s, medians), even at
// nice 19, so the thread lets them go first.
constexpr auto start_delay = std::chrono::milliseconds(100);

} // namespace

prefaulter::prefaulter(allocator& alloc, mark_fn high_water, std::size_t ahead,
                       std::size_t step)
    : alloc_(alloc)
    , capacity_(alloc.capacity())
    , high_water_(std::move(high_water))
    , ahead_(ahead)
    , step_(std::max<std::size_t>(step, 4096)) {
  thread_ = std::thread([this] { run(); });
}

prefaulter::~prefaulter() {
  stop();
}

void prefaulter::stop() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

std::size_t prefaulter::target(std::uint64_t mark) const noexcept {
  if (mark >= capacity_ || ahead_ >= capacity_ - mark)
    return capacity_;
  return static_cast<std::size_t>(mark) + ahead_;
}

void prefaulter::run() {
  // This thread only: on Linux a thread id names one thread here.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_for(lock, start_delay, [this] { return stop_; });
  while (!stop_) {
    auto mark = high_water_();
    auto done = populated_.load();
    // Objects were made past what is populated: their writers fault in their
    // own pages, and faulting them in here too would only compete.
    if (mark > done)
      done = std::min<std::size_t>(capacity_, (mark + 4095) & ~std::uint64_t{4095});
    populated_.store(done);
    auto goal = target(mark);
    if (done >= goal) {
      wake_.wait_for(lock, poll_interval, [this] { return stop_; });
      continue;
    }
    // The step runs unlocked: stop() waits for at most one of them.
    auto n = std::min(step_, goal - done);
    lock.unlock();
    bool ok = alloc_.reserve(done, n);
    if (ok)
      fault_in(alloc_.base() + done, n);
    lock.lock();
    if (!ok)
      return; // no room (e.g. /dev/shm is full): writers will hit it
    populated_.store(done + n);
  }
}

std::size_t prefault_ahead(std::size_t capacity) noexcept {
  constexpr std::size_t mib = 1u << 20;
  return std::min(capacity, std::clamp<std::size_t>(capacity / 4, 64 * mib, 1024 * mib));
}

} // namespace troupe::store
