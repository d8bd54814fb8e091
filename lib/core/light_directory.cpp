#include "lib/core/light_directory.hpp"

#include <algorithm>
#include <utility>

namespace troupe::detail {

void light_directory::add(std::uint64_t id, caf::strong_actor_ptr actor) {
  auto p = id / page_size;
  std::lock_guard<std::mutex> guard{mtx_};
  if (pages_.empty()) {
    first_page_ = p;
  } else if (p < first_page_) {
    // An id below the first page (ids come in sequence, but an actor added
    // late may be older than all the others held): grow at the front.
    std::vector<std::unique_ptr<page>> grown(first_page_ - p + pages_.size());
    std::move(pages_.begin(), pages_.end(), grown.end() - pages_.size());
    pages_.swap(grown);
    first_page_ = p;
  }
  auto index = p - first_page_;
  if (index >= pages_.size())
    pages_.resize(index + 1);
  auto& pg = pages_[index];
  if (!pg)
    pg = std::make_unique<page>();
  auto& slot = pg->slots[id % page_size];
  if (!slot) {
    ++pg->used;
    ++size_;
  }
  slot = std::move(actor);
}

bool light_directory::remove(std::uint64_t id) {
  caf::strong_actor_ptr gone; // released after the lock: it may be the last ref
  std::unique_ptr<page> empty;
  std::lock_guard<std::mutex> guard{mtx_};
  auto p = id / page_size;
  if (p < first_page_ || p - first_page_ >= pages_.size())
    return false;
  auto& pg = pages_[p - first_page_];
  if (!pg || !pg->slots[id % page_size])
    return false;
  gone = std::move(pg->slots[id % page_size]);
  --size_;
  if (--pg->used == 0)
    empty = std::move(pg);
  // Empty pages at either end go, so the table spans only live pages.
  while (!pages_.empty() && !pages_.back())
    pages_.pop_back();
  auto lead = std::find_if(pages_.begin(), pages_.end(), [](auto& x) { return x != nullptr; });
  first_page_ += static_cast<std::uint64_t>(lead - pages_.begin());
  pages_.erase(pages_.begin(), lead);
  if (pages_.empty())
    first_page_ = 0;
  return true;
}

void light_directory::clear() {
  std::vector<std::unique_ptr<page>> gone; // released after the lock: their
  {                                        // actors' exits remove themselves
    std::lock_guard<std::mutex> guard{mtx_};
    gone.swap(pages_);
    first_page_ = 0;
    size_ = 0;
  }
}

caf::strong_actor_ptr light_directory::find(std::uint64_t id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto* a = find_locked(id);
  return a ? *a : nullptr;
}

const caf::strong_actor_ptr* light_directory::find_locked(std::uint64_t id) const {
  auto p = id / page_size;
  if (p < first_page_ || p - first_page_ >= pages_.size())
    return nullptr;
  auto& pg = pages_[p - first_page_];
  if (!pg)
    return nullptr;
  auto& slot = pg->slots[id % page_size];
  return slot ? &slot : nullptr;
}

std::size_t light_directory::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return size_;
}

std::size_t light_directory::pages() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return static_cast<std::size_t>(
    std::count_if(pages_.begin(), pages_.end(), [](auto& x) { return x != nullptr; }));
}

} // namespace troupe::detail
