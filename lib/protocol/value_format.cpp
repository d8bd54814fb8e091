#include "troupe/detail/value_format.hpp"

#include <bit>
#include <cstring>
#include <limits>
#include <sstream>
#include <type_traits>

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>

namespace troupe::detail {

namespace {

caf::execution_unit* context_of(caf::actor_system* sys) {
  return sys != nullptr ? sys->dummy_execution_unit() : nullptr;
}

/// Swaps between this machine's order and big-endian (network) order.
template <class U>
U big_endian(U x) {
  if constexpr (std::endian::native == std::endian::big || sizeof(U) == 1)
    return x;
  else if constexpr (sizeof(U) == 2)
    return __builtin_bswap16(x);
  else if constexpr (sizeof(U) == 4)
    return __builtin_bswap32(x);
  else
    return __builtin_bswap64(x);
}

template <class T>
caf::error write_int(std::vector<char>& buf, T x) {
  auto y = big_endian(static_cast<std::make_unsigned_t<T>>(x));
  auto* p = reinterpret_cast<const char*>(&y);
  buf.insert(buf.end(), p, p + sizeof(y));
  return caf::none;
}

template <class T>
caf::error read_int(value_deserializer& in, T& x) {
  std::make_unsigned_t<T> y;
  if (auto err = in.apply_raw(sizeof(y), &y))
    return err;
  x = static_cast<T>(big_endian(y));
  return caf::none;
}

template <class Char, class Int>
caf::error write_chars(value_serializer& out, std::basic_string<Char>& x) {
  auto n = x.size();
  if (auto err = out.begin_sequence(n))
    return err;
  for (auto c : x) {
    auto i = static_cast<Int>(c);
    if (auto err = out(i))
      return err;
  }
  return caf::none;
}

template <class Char, class Int>
caf::error read_chars(value_deserializer& in, std::basic_string<Char>& x) {
  std::size_t n = 0;
  if (auto err = in.begin_sequence(n))
    return err;
  if (n > in.remaining() / sizeof(Int))
    return caf::sec::end_of_stream;
  x.clear();
  x.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    Int i = 0;
    if (auto err = in(i))
      return err;
    x.push_back(static_cast<Char>(i));
  }
  return caf::none;
}

} // namespace

// --- writing -----------------------------------------------------------------

value_serializer::value_serializer(caf::actor_system* sys, std::vector<char>& buf)
  : caf::serializer(context_of(sys)), buf_(buf) {}

caf::error value_serializer::begin_object(uint16_t& nr, std::string& name) {
  if (auto err = apply_impl(nr))
    return err;
  return nr != 0 ? caf::none : apply_impl(name);
}

caf::error value_serializer::end_object() { return caf::none; }

caf::error value_serializer::begin_sequence(std::size_t& n) {
  // CAF writes lengths of 32 bits, in groups of 7 (low first).
  auto x = static_cast<std::uint32_t>(n);
  while (x > 0x7f) {
    buf_.push_back(static_cast<char>((x & 0x7f) | 0x80));
    x >>= 7;
  }
  buf_.push_back(static_cast<char>(x));
  return caf::none;
}

caf::error value_serializer::end_sequence() { return caf::none; }

caf::error value_serializer::apply_raw(std::size_t n, void* data) {
  auto* p = static_cast<const char*>(data);
  buf_.insert(buf_.end(), p, p + n);
  return caf::none;
}

caf::error value_serializer::apply_impl(int8_t& x) { return apply_raw(1, &x); }
caf::error value_serializer::apply_impl(uint8_t& x) { return apply_raw(1, &x); }
caf::error value_serializer::apply_impl(int16_t& x) { return write_int(buf_, x); }
caf::error value_serializer::apply_impl(uint16_t& x) { return write_int(buf_, x); }
caf::error value_serializer::apply_impl(int32_t& x) { return write_int(buf_, x); }
caf::error value_serializer::apply_impl(uint32_t& x) { return write_int(buf_, x); }
caf::error value_serializer::apply_impl(int64_t& x) { return write_int(buf_, x); }
caf::error value_serializer::apply_impl(uint64_t& x) { return write_int(buf_, x); }

caf::error value_serializer::apply_impl(float& x) {
  return write_int(buf_, std::bit_cast<std::uint32_t>(x));
}

caf::error value_serializer::apply_impl(double& x) {
  return write_int(buf_, std::bit_cast<std::uint64_t>(x));
}

caf::error value_serializer::apply_impl(long double& x) {
  // As CAF does: its text.
  std::ostringstream text;
  text.precision(std::numeric_limits<long double>::digits);
  text << x;
  auto s = text.str();
  return apply_impl(s);
}

caf::error value_serializer::apply_impl(std::string& x) {
  auto n = x.size();
  begin_sequence(n);
  buf_.insert(buf_.end(), x.begin(), x.end());
  return caf::none;
}

caf::error value_serializer::apply_impl(std::u16string& x) {
  return write_chars<char16_t, std::uint16_t>(*this, x);
}

caf::error value_serializer::apply_impl(std::u32string& x) {
  return write_chars<char32_t, std::uint32_t>(*this, x);
}

// --- reading -----------------------------------------------------------------

value_deserializer::value_deserializer(caf::actor_system* sys, const char* data,
                                       std::size_t size)
  : caf::deserializer(context_of(sys)), pos_(data), end_(data + size) {}

caf::error value_deserializer::begin_object(uint16_t& nr, std::string& name) {
  if (auto err = apply_impl(nr))
    return err;
  if (nr != 0)
    return caf::none;
  if (auto err = apply_impl(name))
    return err;
  // CAF 0.17 reads these built-in types through caf::variant, whose reader
  // throws on an unknown alternative from code that may not throw: the
  // process terminates (found by tests/fuzz/caf_message). troupe sends none
  // of them.
  for (const char* unsafe : {"@config_value", "@downstream_msg", "@upstream_msg",
                             "@open_stream_msg"})
    if (name.find(unsafe) != std::string::npos)
      return caf::make_error(caf::sec::unknown_type, name);
  return caf::none;
}

caf::error value_deserializer::end_object() { return caf::none; }

caf::error value_deserializer::begin_sequence(std::size_t& n) {
  // At most five groups of 7 bits make the 32 bits CAF writes (CAF's own
  // reader shifts past 32 bits on a sixth).
  std::uint32_t x = 0;
  for (int group = 0;; ++group) {
    if (pos_ == end_)
      return caf::sec::end_of_stream;
    auto byte = static_cast<std::uint8_t>(*pos_++);
    if (group == 4 && byte > 0x0f)
      return caf::make_error(caf::sec::invalid_argument, "a length longer than 32 bits");
    x |= static_cast<std::uint32_t>(byte & 0x7f) << (7 * group);
    if ((byte & 0x80) == 0)
      break;
  }
  n = x;
  if (n > unchecked_elements && n > remaining())
    return caf::make_error(caf::sec::end_of_stream,
                           "a sequence claims " + std::to_string(n) + " elements in "
                             + std::to_string(remaining()) + " bytes");
  return caf::none;
}

caf::error value_deserializer::end_sequence() { return caf::none; }

caf::error value_deserializer::apply_raw(std::size_t n, void* data) {
  if (n > remaining())
    return caf::sec::end_of_stream;
  std::memcpy(data, pos_, n);
  pos_ += n;
  return caf::none;
}

caf::error value_deserializer::apply_impl(int8_t& x) { return apply_raw(1, &x); }
caf::error value_deserializer::apply_impl(uint8_t& x) { return apply_raw(1, &x); }
caf::error value_deserializer::apply_impl(int16_t& x) { return read_int(*this, x); }
caf::error value_deserializer::apply_impl(uint16_t& x) { return read_int(*this, x); }
caf::error value_deserializer::apply_impl(int32_t& x) { return read_int(*this, x); }
caf::error value_deserializer::apply_impl(uint32_t& x) { return read_int(*this, x); }
caf::error value_deserializer::apply_impl(int64_t& x) { return read_int(*this, x); }
caf::error value_deserializer::apply_impl(uint64_t& x) { return read_int(*this, x); }

caf::error value_deserializer::apply_impl(float& x) {
  std::uint32_t bits = 0;
  auto err = read_int(*this, bits);
  x = std::bit_cast<float>(bits);
  return err;
}

caf::error value_deserializer::apply_impl(double& x) {
  std::uint64_t bits = 0;
  auto err = read_int(*this, bits);
  x = std::bit_cast<double>(bits);
  return err;
}

caf::error value_deserializer::apply_impl(long double& x) {
  std::string s;
  if (auto err = apply_impl(s))
    return err;
  std::istringstream text{s};
  text >> x;
  return caf::none;
}

caf::error value_deserializer::apply_impl(std::string& x) {
  std::size_t n = 0;
  if (auto err = begin_sequence(n))
    return err;
  if (n > remaining())
    return caf::sec::end_of_stream;
  x.assign(pos_, n);
  pos_ += n;
  return caf::none;
}

caf::error value_deserializer::apply_impl(std::u16string& x) {
  return read_chars<char16_t, std::uint16_t>(*this, x);
}

caf::error value_deserializer::apply_impl(std::u32string& x) {
  return read_chars<char32_t, std::uint32_t>(*this, x);
}

} // namespace troupe::detail
