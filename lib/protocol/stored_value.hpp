#pragma once

// The one description of a stored object's value that the protocol carries:
// the client's object table holds it, Cap'n Proto task and result messages
// write it (capnp_codec), and the store's flatbuffers metadata describes the
// same fields for a value in shared memory.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "troupe/codec.hpp"
#include "troupe/object_id.hpp"

namespace troupe::detail {

/// A ready object's value as the table holds it.
struct stored_value {
  encoding enc = encoding::caf_binary;
  std::uint64_t type_hash = 0;
  std::string type_name;
  std::shared_ptr<const std::vector<char>> inline_data; ///< small values
  bool in_store = false; ///< large values: in a node's store, pinned by us
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t node = 0; ///< the node whose store holds it
  object_id id;           ///< the object (checked when pulled from another node)
};

} // namespace troupe::detail
