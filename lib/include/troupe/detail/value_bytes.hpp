#pragma once

// Values as plain bytes, for the libraries that keep or ship values inside
// their own values (a queue's items, a pool's chunk of arguments): the bytes
// of `codec<T>`, and back. Refs inside a value escape with it: their owner
// keeps the objects for as long as it lives, since the bytes may be anywhere.

#include <cstddef>
#include <vector>

#include "troupe/codec.hpp"
#include "troupe/object_ref.hpp"

namespace troupe::detail {

/// Returns the bytes of `x` as `codec<T>` writes them.
template <class T>
std::vector<char> to_bytes(const T& x) {
  auto v = encode(x);
  for (auto& r : v.nested)
    ref_escaped(r);
  auto* p = reinterpret_cast<const char*>(v.data());
  return {p, p + v.size()};
}

/// Returns the `T` that `to_bytes<T>` made `bytes` of.
template <class T>
T from_bytes(const std::vector<char>& bytes) {
  raw_value v;
  v.enc = codec<T>::enc;
  v.type_hash = codec<T>::type_hash;
  v.type_name = codec<T>::name;
  v.data = reinterpret_cast<const std::byte*>(bytes.data());
  v.size = bytes.size();
  return codec<T>::decode(v);
}

} // namespace troupe::detail
