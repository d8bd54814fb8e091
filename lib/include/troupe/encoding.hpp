#pragma once

#include <cstdint>

namespace troupe {

/// How a stored value's bytes are laid out. The one encoding of troupe: the
/// object store's flatbuffers metadata and the Cap'n Proto task messages
/// carry these values.
enum class encoding : std::uint8_t {
  caf_binary = 0, ///< CAF's binary serializer over the type's `inspect`
  raw_array = 1,  ///< contiguous arithmetic elements, viewable in place
};

/// Returns whether `value` is an encoding (for bytes read from elsewhere).
constexpr bool is_encoding(std::uint8_t value) noexcept {
  return value <= static_cast<std::uint8_t>(encoding::raw_array);
}

} // namespace troupe
