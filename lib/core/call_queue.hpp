#pragma once

// The queue of an actor's calls in the submitter (submitter.hpp).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace troupe::detail {

/// A FIFO of task ids: a vector read from a moving head. An empty one
/// allocates nothing; `std::deque` allocates about 600 bytes when made, and
/// a driver holds one per actor it calls (100,000 light actors: 60 MB).
/// Popping is O(1); the read prefix is dropped once it is most of the
/// vector, so a long queue drained from the front stays amortized O(1).
class call_queue {
public:
  using iterator = std::vector<std::uint64_t>::iterator;
  using const_iterator = std::vector<std::uint64_t>::const_iterator;

  bool empty() const noexcept { return head_ == items_.size(); }
  std::size_t size() const noexcept { return items_.size() - head_; }
  std::uint64_t front() const { return items_[head_]; }

  void push_back(std::uint64_t id) { items_.push_back(id); }

  void pop_front() {
    if (++head_ == items_.size()) {
      clear();
    } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  void clear() noexcept {
    items_.clear();
    head_ = 0;
  }

  iterator begin() noexcept { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  iterator end() noexcept { return items_.end(); }
  const_iterator begin() const noexcept {
    return items_.begin() + static_cast<std::ptrdiff_t>(head_);
  }
  const_iterator end() const noexcept { return items_.end(); }

  iterator erase(const_iterator it) { return items_.erase(it); }
  iterator erase(const_iterator first, const_iterator last) { return items_.erase(first, last); }
  template <class It>
  void insert(const_iterator pos, It first, It last) {
    items_.insert(pos, first, last);
  }

private:
  std::vector<std::uint64_t> items_;
  std::size_t head_ = 0;
};

} // namespace troupe::detail
