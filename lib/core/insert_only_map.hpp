#pragma once

// A map whose entries are never erased: the submitter's actors.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <tuple>
#include <utility>
#include <vector>

namespace troupe::detail {

/// A map that only grows, for a hot table looked up at random: entries sit
/// in a deque (their addresses hold, and iteration is in insertion order)
/// and an open-addressing index holds each key's hash beside its entry's
/// address (16 bytes a slot). A lookup reads one slot of the index (more
/// only on a collision) and then the entry it wants, where
/// `std::unordered_map` reads its bucket, the node before and the node: a
/// cache miss each among 100,000 actors. With no erase there are no
/// tombstones; the index is kept at most 70% full.
template <class K, class V, class Hash = std::hash<K>>
class insert_only_map {
public:
  using value_type = std::pair<const K, V>;

  /// Returns the entry of `key`, made (V{}) if there is none.
  V& operator[](const K& key) {
    if (auto* e = find(key))
      return e->second;
    if ((entries_.size() + 1) * 10 > slots_.size() * 7)
      grow();
    auto& e = entries_.emplace_back(std::piecewise_construct, std::forward_as_tuple(key),
                                    std::forward_as_tuple());
    place(&e);
    return e.second;
  }

  /// Returns the entry of `key`, or null.
  value_type* find(const K& key) noexcept {
    if (slots_.empty())
      return nullptr;
    auto h = hash_of(key);
    for (auto i = h & mask();; i = (i + 1) & mask()) {
      auto& s = slots_[i];
      if (s.entry == nullptr)
        return nullptr;
      if (s.hash == h && s.entry->first == key)
        return s.entry;
    }
  }
  const value_type* find(const K& key) const noexcept {
    return const_cast<insert_only_map*>(this)->find(key);
  }

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

  auto begin() noexcept { return entries_.begin(); }
  auto end() noexcept { return entries_.end(); }
  auto begin() const noexcept { return entries_.begin(); }
  auto end() const noexcept { return entries_.end(); }

private:
  struct slot {
    std::uint64_t hash = 0;
    value_type* entry = nullptr;
  };

  std::size_t mask() const noexcept { return slots_.size() - 1; }

  /// Mixed: ids that count up by one would otherwise fill runs of slots,
  /// and a key of another owner landing in a run probes all of it.
  static std::uint64_t hash_of(const K& key) noexcept {
    auto h = static_cast<std::uint64_t>(Hash{}(key));
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
  }

  void place(value_type* e) noexcept {
    auto h = hash_of(e->first);
    auto i = h & mask();
    while (slots_[i].entry != nullptr)
      i = (i + 1) & mask();
    slots_[i] = {h, e};
  }

  void grow() {
    slots_.assign(std::max<std::size_t>(16, slots_.size() * 2), slot{});
    for (auto& e : entries_)
      place(&e);
  }

  std::deque<value_type> entries_;
  std::vector<slot> slots_;
};

} // namespace troupe::detail
