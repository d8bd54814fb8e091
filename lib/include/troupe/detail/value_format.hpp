#pragma once

// How troupe writes and reads a value's bytes (codec.hpp): CAF's binary
// format, with two differences, each for a flaw of CAF 0.17 that the fuzz
// targets found (tests/fuzz/caf_message):
//
// - Floating-point numbers are their IEEE 754 bits. CAF's own conversion
//   loops forever on an infinity (the writer hangs) and has no NaN; the bits
//   are what CAF writes for every normal number, so nothing else changes.
// - A sequence may not claim far more elements than bytes remain. CAF sizes
//   a vector by the length it claims before reading it: 30 bytes that claim
//   a std::vector<char> of 4 GiB made the reader allocate and zero 4 GiB.
//   Every element takes a byte at least, except for empty types, so small
//   counts pass whatever remains.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deserializer.hpp>
#include <caf/serializer.hpp>

namespace caf {
class actor_system;
class execution_unit;
} // namespace caf

namespace troupe::detail {

/// What the value serializer and deserializer share: every call goes to
/// CAF's binary (de)serializer `Inner`, except those the two override.
template <class Base, class Inner>
class value_format_base : public Base {
public:
  template <class... Ts>
  explicit value_format_base(caf::execution_unit* ctx, Ts&&... xs)
    : Base(ctx), inner_(ctx, std::forward<Ts>(xs)...) {}

  caf::error begin_object(uint16_t& nr, std::string& name) override {
    return inner_.begin_object(nr, name);
  }
  caf::error end_object() override { return inner_.end_object(); }
  caf::error begin_sequence(std::size_t& n) override { return inner_.begin_sequence(n); }
  caf::error end_sequence() override { return inner_.end_sequence(); }
  caf::error apply_raw(std::size_t n, void* data) override { return inner_.apply_raw(n, data); }

protected:
  caf::error apply_impl(int8_t& x) override { return inner_(x); }
  caf::error apply_impl(uint8_t& x) override { return inner_(x); }
  caf::error apply_impl(int16_t& x) override { return inner_(x); }
  caf::error apply_impl(uint16_t& x) override { return inner_(x); }
  caf::error apply_impl(int32_t& x) override { return inner_(x); }
  caf::error apply_impl(uint32_t& x) override { return inner_(x); }
  caf::error apply_impl(int64_t& x) override { return inner_(x); }
  caf::error apply_impl(uint64_t& x) override { return inner_(x); }
  caf::error apply_impl(float& x) override { return inner_(x); }
  caf::error apply_impl(double& x) override { return inner_(x); }
  caf::error apply_impl(long double& x) override { return inner_(x); }
  caf::error apply_impl(std::string& x) override { return inner_(x); }
  caf::error apply_impl(std::u16string& x) override { return inner_(x); }
  caf::error apply_impl(std::u32string& x) override { return inner_(x); }

  Inner inner_;
};

/// Returns the execution unit CAF's (de)serializers take for `sys`.
caf::execution_unit* value_format_context(caf::actor_system* sys);

/// Writes a value's bytes into `buf`.
class value_serializer final
  : public value_format_base<caf::serializer, caf::binary_serializer> {
public:
  /// `sys` (may be null) names types and actor handles as for
  /// caf::binary_serializer.
  value_serializer(caf::actor_system* sys, std::vector<char>& buf)
    : value_format_base(value_format_context(sys), buf) {}

protected:
  caf::error apply_impl(float& x) override {
    auto bits = std::bit_cast<std::uint32_t>(x);
    return inner_(bits);
  }
  caf::error apply_impl(double& x) override {
    auto bits = std::bit_cast<std::uint64_t>(x);
    return inner_(bits);
  }
  using value_format_base::apply_impl;
};

/// Reads a value's bytes.
class value_deserializer final
  : public value_format_base<caf::deserializer, caf::binary_deserializer> {
public:
  /// Sequences of up to this many elements pass unchecked.
  static constexpr std::size_t unchecked_elements = 65536;

  /// Reads the `size` bytes at `data`; `sys` (may be null) resolves types
  /// and actor handles as for caf::binary_deserializer.
  value_deserializer(caf::actor_system* sys, const char* data, std::size_t size)
    : value_format_base(value_format_context(sys), data, size) {}

  caf::error begin_sequence(std::size_t& n) override;

protected:
  caf::error apply_impl(float& x) override {
    std::uint32_t bits = 0;
    auto err = inner_(bits);
    x = std::bit_cast<float>(bits);
    return err;
  }
  caf::error apply_impl(double& x) override {
    std::uint64_t bits = 0;
    auto err = inner_(bits);
    x = std::bit_cast<double>(bits);
    return err;
  }
  using value_format_base::apply_impl;
};

} // namespace troupe::detail
