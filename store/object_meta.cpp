#include "store/object_meta.hpp"

#include <stdexcept>

#include "object_meta_generated.h"

namespace troupe::store {

meta_fields read_meta(const std::uint8_t* bytes, std::size_t size, std::uint64_t data_size,
                      bool verify) {
  if (verify) {
    flatbuffers::Verifier verifier(bytes, size);
    if (!fb::Verifyobject_metaBuffer(verifier))
      throw std::invalid_argument("corrupt metadata");
  }
  auto* meta = fb::Getobject_meta(bytes);
  // The verifier checks structure, not values: an unknown encoding or a
  // size the header contradicts is caught here.
  if (meta->id() == nullptr)
    throw std::invalid_argument("metadata without an object id");
  if (meta->data_size() != data_size)
    throw std::invalid_argument("metadata of " + std::to_string(meta->data_size())
                                + " data bytes where the header says "
                                + std::to_string(data_size));
  if (meta->encoding() > fb::encoding::MAX)
    throw std::invalid_argument("metadata with unknown encoding "
                                + std::to_string(static_cast<int>(meta->encoding())));
  meta_fields out;
  out.id = {meta->id()->owner(), meta->id()->seq()};
  out.type_hash = meta->type_hash();
  if (auto* s = meta->type_name())
    out.type_name = std::string_view{s->data(), s->size()};
  out.enc = static_cast<encoding>(meta->encoding());
  out.created_ns = meta->creation_time_ns();
  return out;
}

} // namespace troupe::store
