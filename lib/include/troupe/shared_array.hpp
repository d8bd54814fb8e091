#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

namespace troupe {

/// A read-only array of arithmetic values that may live in the node's
/// shared-memory object store. `get_view(ref)` and task parameters of this
/// type read the stored elements in place, without copying; the store keeps
/// the object alive as long as any `shared_array` points into it.
///
/// A `shared_array<T>` and a `std::vector<T>` have the same stored form, so a
/// task returning `std::vector<double>` can feed a task taking
/// `shared_array<double>` and vice versa.
template <class T>
class shared_array {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
                "shared_array holds arithmetic values only");

public:
  using value_type = T;
  using const_iterator = const T*;

  shared_array() = default;

  /// Takes ownership of `values` (heap memory, not shared).
  explicit shared_array(std::vector<T> values) {
    auto owned = std::make_shared<std::vector<T>>(std::move(values));
    data_ = owned->data();
    size_ = owned->size();
    keep_ = std::move(owned);
  }

  /// Views `size` values at `data`, kept alive by `keepalive`.
  shared_array(const T* data, std::size_t size,
               std::shared_ptr<const void> keepalive) noexcept
    : data_(data), size_(size), keep_(std::move(keepalive)) {
  }

  /// Returns a pointer to the first value.
  [[nodiscard]] const T* data() const noexcept { return data_; }
  /// Returns the number of values.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Returns whether the array holds no values.
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }

  /// Returns the values as a span.
  [[nodiscard]] std::span<const T> span() const noexcept { return {data_, size_}; }

  /// Returns a copy of the values.
  [[nodiscard]] std::vector<T> to_vector() const { return {begin(), end()}; }

private:
  const T* data_ = nullptr;
  std::size_t size_ = 0;
  std::shared_ptr<const void> keep_;
};

} // namespace troupe
