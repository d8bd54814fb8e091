#pragma once

// The one description of a stored object's value that the protocol carries:
// the client's object table holds it (stored_value), owners send it to
// borrowers (object_reply), Cap'n Proto task and result messages write it
// (capnp_codec), and the store's flatbuffers metadata holds the same fields
// for a value in shared memory.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "troupe/codec.hpp"
#include "troupe/object_id.hpp"

namespace troupe::detail {

/// What a value is and where its bytes are.
struct object_descriptor {
  encoding enc = encoding::caf_binary;
  std::uint64_t type_hash = 0;
  std::string type_name;
  bool in_store = false;    ///< large values: in a node's store
  std::uint64_t offset = 0; ///< its place in that store
  std::uint64_t size = 0;
  std::uint64_t node = 0; ///< the node whose store holds it
  object_id id;           ///< the object (checked when pulled from another node)
};

template <class I>
typename I::result_type inspect(I& f, object_descriptor& x) {
  return f(caf::meta::type_name("troupe.object_descriptor"), x.enc, x.type_hash,
           x.type_name, x.in_store, x.offset, x.size, x.node, x.id);
}

/// A ready object's value as the table holds it: its description, and the
/// bytes of a small value (a large one is in a store, pinned by us).
struct stored_value : object_descriptor {
  std::shared_ptr<const std::vector<char>> inline_data; ///< small values
  /// In a message between processes: the sender handed its pin of the store
  /// object over, and the receiver adopts it before anything else (the
  /// object stays while it is in transit). Never set in a table.
  bool transit = false;
};

} // namespace troupe::detail
