#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace troupe {

/// Identifies one object (a task's return value or a `put` value) in the
/// whole cluster. `owner` is the 64-bit id of the process that created the
/// reference (its *owner*, which tracks the object's state); `seq` numbers
/// the owner's objects.
struct object_id {
  std::uint64_t owner = 0;
  std::uint64_t seq = 0;

  /// Returns whether this id names an object (the default id does not).
  [[nodiscard]] bool valid() const noexcept { return owner != 0; }

  /// Returns a short printable form, e.g. `3f2a9c01d2e4b577:12`.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const object_id&, const object_id&) = default;
  friend auto operator<=>(const object_id&, const object_id&) = default;
};

} // namespace troupe

template <>
struct std::hash<troupe::object_id> {
  std::size_t operator()(const troupe::object_id& x) const noexcept {
    return static_cast<std::size_t>(x.owner * 0x9E3779B97F4A7C15ULL ^ x.seq);
  }
};
