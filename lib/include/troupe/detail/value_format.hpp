#pragma once

// How troupe writes and reads a value's bytes (codec.hpp): CAF's binary
// format (big-endian integers, sequences and strings after their length in
// 7-bit groups), written and read here rather than by CAF's own binary
// serializer and deserializer, with two differences, each for a flaw of
// CAF 0.17 that the fuzz targets found (tests/fuzz/caf_message):
//
// - Floating-point numbers are their IEEE 754 bits. CAF's own conversion
//   loops forever on an infinity (the writer hangs) and has no NaN; the bits
//   are what CAF writes for every normal number, so nothing else changes.
// - A sequence may not claim far more elements than bytes remain. CAF sizes
//   a vector by the length it claims before reading it: 30 bytes that claim
//   a std::vector<char> of 4 GiB made the reader allocate and zero 4 GiB.
//   Every element takes a byte at least, except for empty types, so small
//   counts pass whatever remains.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/deserializer.hpp>
#include <caf/serializer.hpp>

namespace caf {
class actor_system;
} // namespace caf

namespace troupe::detail {

/// Writes a value's bytes at the end of `buf`.
class value_serializer final : public caf::serializer {
public:
  /// `sys` (may be null) names types and actor handles as for
  /// caf::binary_serializer.
  value_serializer(caf::actor_system* sys, std::vector<char>& buf);

  caf::error begin_object(uint16_t& nr, std::string& name) override;
  caf::error end_object() override;
  caf::error begin_sequence(std::size_t& n) override;
  caf::error end_sequence() override;
  caf::error apply_raw(std::size_t n, void* data) override;

protected:
  caf::error apply_impl(int8_t& x) override;
  caf::error apply_impl(uint8_t& x) override;
  caf::error apply_impl(int16_t& x) override;
  caf::error apply_impl(uint16_t& x) override;
  caf::error apply_impl(int32_t& x) override;
  caf::error apply_impl(uint32_t& x) override;
  caf::error apply_impl(int64_t& x) override;
  caf::error apply_impl(uint64_t& x) override;
  caf::error apply_impl(float& x) override;
  caf::error apply_impl(double& x) override;
  caf::error apply_impl(long double& x) override;
  caf::error apply_impl(std::string& x) override;
  caf::error apply_impl(std::u16string& x) override;
  caf::error apply_impl(std::u32string& x) override;

private:
  std::vector<char>& buf_;
};

/// Reads a value's bytes.
class value_deserializer final : public caf::deserializer {
public:
  /// Sequences of up to this many elements pass unchecked.
  static constexpr std::size_t unchecked_elements = 65536;

  /// Reads the `size` bytes at `data`; `sys` (may be null) resolves types
  /// and actor handles as for caf::binary_deserializer.
  value_deserializer(caf::actor_system* sys, const char* data, std::size_t size);

  caf::error begin_object(uint16_t& nr, std::string& name) override;
  caf::error end_object() override;
  caf::error begin_sequence(std::size_t& n) override;
  caf::error end_sequence() override;
  caf::error apply_raw(std::size_t n, void* data) override;

  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - pos_); }

protected:
  caf::error apply_impl(int8_t& x) override;
  caf::error apply_impl(uint8_t& x) override;
  caf::error apply_impl(int16_t& x) override;
  caf::error apply_impl(uint16_t& x) override;
  caf::error apply_impl(int32_t& x) override;
  caf::error apply_impl(uint32_t& x) override;
  caf::error apply_impl(int64_t& x) override;
  caf::error apply_impl(uint64_t& x) override;
  caf::error apply_impl(float& x) override;
  caf::error apply_impl(double& x) override;
  caf::error apply_impl(long double& x) override;
  caf::error apply_impl(std::string& x) override;
  caf::error apply_impl(std::u16string& x) override;
  caf::error apply_impl(std::u32string& x) override;

private:
  const char* pos_;
  const char* end_;
};

} // namespace troupe::detail
