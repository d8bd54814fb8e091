#pragma once

// An object's metadata (store/object_meta.fbs), read from shared memory.
// Any process that maps a node's segment can write it, so a reader checks
// it as bytes from outside: its structure (the flatbuffers verifier) and its
// values (tests/fuzz/object_meta).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "troupe/encoding.hpp"
#include "troupe/object_id.hpp"

namespace troupe::store {

/// What an object's metadata says.
struct meta_fields {
  troupe::object_id id;
  std::uint64_t type_hash = 0;
  std::string_view type_name; ///< points into the metadata bytes
  encoding enc = encoding::caf_binary;
  std::int64_t created_ns = 0;
};

/// Reads the `size` bytes of metadata at `bytes` of an object whose header
/// says it has `data_size` data bytes. `verify`: check the structure first
/// (a reader that checked these bytes before may skip it: sealed metadata
/// never changes). Throws std::invalid_argument saying what is wrong.
meta_fields read_meta(const std::uint8_t* bytes, std::size_t size, std::uint64_t data_size,
                      bool verify = true);

} // namespace troupe::store
