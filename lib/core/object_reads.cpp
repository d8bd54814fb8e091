// Reads of many values at once from the object table (object_table.hpp).
#include "lib/core/object_table.hpp"

namespace troupe::detail {

std::size_t object_table::read_ready(const std::vector<ref_ptr>& refs, std::size_t from,
                                     std::vector<raw_value>& out) {
  std::lock_guard guard{mtx_};
  auto i = from;
  for (; i < refs.size() && refs[i]; ++i) {
    auto it = entries_.find(refs[i]->id());
    if (it == entries_.end() || it->second.st != status::ready || it->second.value.in_store)
      break;
    out.push_back(to_raw(it->second.value)); // inline: no store view, no call out
  }
  return i - from;
}

} // namespace troupe::detail
