// An object's metadata as a reader of a node's shared-memory store checks
// it (store/object_meta): any process that maps the segment can write it.
// Input: the data size the object's header claims (8 bytes), then the
// metadata. Bad metadata is a std::invalid_argument, and nothing else.

#include <cstring>
#include <stdexcept>
#include <vector>

#include "store/object_meta.hpp"
#include "tests/fuzz/fuzz_target.hpp"

using troupe::fuzz::fuzz_fail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8)
    return 0;
  std::uint64_t data_size;
  std::memcpy(&data_size, data, 8);
  // The store keeps metadata 8-byte aligned, right after the object's header.
  std::vector<std::uint64_t> aligned((size - 8 + 7) / 8);
  auto* meta = reinterpret_cast<std::uint8_t*>(aligned.data());
  if (size > 8)
    std::memcpy(meta, data + 8, size - 8);
  try {
    auto m = troupe::store::read_meta(meta, size - 8, data_size);
    if (!m.type_name.empty()
        && (reinterpret_cast<const std::uint8_t*>(m.type_name.data()) < meta
            || reinterpret_cast<const std::uint8_t*>(m.type_name.data()) + m.type_name.size()
                 > meta + (size - 8)))
      fuzz_fail("a type name points outside the metadata");
  } catch (const std::invalid_argument&) {
    // Corrupt or inconsistent: the reader's error names the object.
  }
  return 0;
}
