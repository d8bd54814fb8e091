#pragma once

// How values become bytes and back. Arithmetic arrays are stored raw so that
// a reader on the same node can view them in shared memory; everything else
// goes through CAF's `inspect` convention and its binary format (with the
// changes detail/value_format.hpp explains).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/detail/type_name.hpp"
#include "troupe/detail/value_format.hpp"
#include "troupe/encoding.hpp"
#include "troupe/errors.hpp"
#include "troupe/shared_array.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace troupe {

namespace detail {

class ref_handle;
using ref_ptr = std::shared_ptr<ref_handle>;

/// A stored value as a reader finds it: bytes plus what they are.
struct raw_value {
  encoding enc = encoding::caf_binary;
  std::uint64_t type_hash = 0;
  std::string_view type_name;
  const std::byte* data = nullptr;
  std::size_t size = 0;
  /// Keeps `data` valid: an inline buffer or a pin on a shared-memory object.
  std::shared_ptr<const void> keepalive;
};

/// A value ready to be stored: either serialized into `buffer`, or, for raw
/// arrays, borrowed from the source value (`raw`, valid while it lives).
struct encoded_value {
  encoding enc = encoding::caf_binary;
  std::uint64_t type_hash = 0;
  std::string_view type_name;
  std::vector<char> buffer;
  const std::byte* raw = nullptr;
  std::size_t raw_size = 0;
  /// The refs serialized into `buffer`: whoever keeps the bytes keeps these
  /// (the owner counts them as held until then; see object_table.hpp).
  std::vector<ref_ptr> nested;

  /// Returns the encoded bytes.
  [[nodiscard]] const std::byte* data() const noexcept {
    return raw ? raw : reinterpret_cast<const std::byte*>(buffer.data());
  }
  /// Returns the number of encoded bytes.
  [[nodiscard]] std::size_t size() const noexcept {
    return raw ? raw_size : buffer.size();
  }
  /// Makes the value own its bytes (copies a borrowed raw array).
  void own() {
    if (raw) {
      buffer.assign(reinterpret_cast<const char*>(raw),
                    reinterpret_cast<const char*>(raw) + raw_size);
      raw = nullptr;
      raw_size = 0;
    }
  }
};

/// Where the refs that `inspect` meets while serializing go (nullptr: no
/// encoding collects them, so a serialized ref is kept for the owner's life).
std::vector<ref_ptr>*& nested_ref_sink() noexcept;

/// Collects the refs serialized while it lives into `into`.
class nested_ref_capture {
public:
  explicit nested_ref_capture(std::vector<ref_ptr>& into) noexcept
    : prev_(std::exchange(nested_ref_sink(), &into)) {}
  ~nested_ref_capture() { nested_ref_sink() = prev_; }
  nested_ref_capture(const nested_ref_capture&) = delete;
  nested_ref_capture& operator=(const nested_ref_capture&) = delete;

private:
  std::vector<ref_ptr>* prev_;
};

/// Returns the actor system that serializes actor handles (object refs inside
/// values), or nullptr before `init`.
caf::actor_system* serialization_system() noexcept;

[[noreturn]] void throw_type_mismatch(std::string_view stored,
                                      std::string_view wanted);
[[noreturn]] void throw_codec_error(std::string_view what,
                                    std::string_view type, const std::string& why);

template <class T>
struct is_raw_array : std::false_type {};
template <class T>
  requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
struct is_raw_array<std::vector<T>> : std::true_type {
  using element = T;
};
template <class T>
struct is_raw_array<shared_array<T>> : std::true_type {
  using element = T;
};

/// Marks the (empty) value of a task that returns `void`.
struct unit_value {};

template <class T, class = void>
struct codec {
  static constexpr encoding enc = encoding::caf_binary;
  static constexpr std::uint64_t type_hash = fnv1a(type_name<T>());
  static constexpr std::string_view name = type_name<T>();

  static void encode(const T& x, encoded_value& out) {
    out.enc = enc;
    out.type_hash = type_hash;
    out.type_name = name;
    nested_ref_capture capture{out.nested};
    auto* sys = serialization_system();
    auto err = value_serializer{sys, out.buffer}(const_cast<T&>(x));
    if (err)
      throw_codec_error("cannot serialize", name, caf::to_string(err));
  }

  static T decode(const raw_value& v) {
    if (v.type_hash != type_hash)
      throw_type_mismatch(v.type_name, name);
    T x{};
    auto* sys = serialization_system();
    auto* p = reinterpret_cast<const char*>(v.data);
    auto err = value_deserializer{sys, p, v.size}(x);
    if (err)
      throw_codec_error("cannot deserialize", name, caf::to_string(err));
    return x;
  }
};

template <class T>
struct codec<T, std::enable_if_t<is_raw_array<T>::value>> {
  using element = typename is_raw_array<T>::element;
  static constexpr encoding enc = encoding::raw_array;
  // vector<E> and shared_array<E> share one identity: the element type.
  static constexpr std::uint64_t type_hash =
    fnv1a(type_name<element>(), 0x7261772061727261ULL);
  static constexpr std::string_view name = type_name<T>();

  static void encode(const T& x, encoded_value& out) {
    out.enc = enc;
    out.type_hash = type_hash;
    out.type_name = name;
    out.raw = reinterpret_cast<const std::byte*>(x.data());
    out.raw_size = x.size() * sizeof(element);
  }

  static T decode(const raw_value& v) {
    if (v.type_hash != type_hash || v.enc != encoding::raw_array)
      throw_type_mismatch(v.type_name, name);
    auto n = v.size / sizeof(element);
    if constexpr (std::is_same_v<T, shared_array<element>>) {
      return T{reinterpret_cast<const element*>(v.data), n, v.keepalive};
    } else {
      T x(n);
      if (n > 0)
        std::memcpy(x.data(), v.data, n * sizeof(element));
      return x;
    }
  }
};

template <>
struct codec<unit_value> {
  static constexpr encoding enc = encoding::caf_binary;
  static constexpr std::uint64_t type_hash = fnv1a("void");
  static constexpr std::string_view name = "void";
  static void encode(const unit_value&, encoded_value& out) {
    out.enc = enc;
    out.type_hash = type_hash;
    out.type_name = name;
  }
  static unit_value decode(const raw_value& v) {
    if (v.type_hash != type_hash)
      throw_type_mismatch(v.type_name, name);
    return {};
  }
};

/// Returns the codec's type for values of `T` (`void` becomes `unit_value`).
template <class T>
using stored_t = std::conditional_t<std::is_void_v<T>, unit_value, std::decay_t<T>>;

template <class T>
encoded_value encode(const T& x) {
  encoded_value out;
  codec<std::decay_t<T>>::encode(x, out);
  return out;
}

/// As `encode`, but the result owns its bytes (for temporaries).
template <class T>
encoded_value encode_owned(const T& x) {
  auto out = encode(x);
  out.own();
  return out;
}

} // namespace detail
} // namespace troupe
