#include "actors/object_directory.hpp"

#include <algorithm>

namespace troupe {

void object_directory::add_owner(std::uint64_t owner_id, core_actor core,
                                 std::uint64_t node, endpoint address) {
  owners_[owner_id] = {std::move(core), node, std::move(address)};
}

core_actor object_directory::core_of(std::uint64_t owner_id) const {
  auto it = owners_.find(owner_id);
  return it == owners_.end() ? core_actor{} : it->second.core;
}

owner_entry object_directory::entry_of(std::uint64_t owner_id) const {
  auto it = owners_.find(owner_id);
  if (it == owners_.end())
    return {owner_id, {}, {}};
  return {owner_id, it->second.core, it->second.address};
}

std::optional<std::uint64_t>
object_directory::owner_at(const caf::actor_addr& addr) const {
  for (auto& [id, o] : owners_)
    if (o.core && o.core.address() == addr)
      return id;
  return std::nullopt;
}

std::vector<core_actor> object_directory::cores() const {
  std::vector<core_actor> out;
  for (auto& [id, o] : owners_)
    out.push_back(o.core);
  return out;
}

void object_directory::record_location(const object_location& loc) {
  if (loc.present) {
    if (std::find(dead_nodes_.begin(), dead_nodes_.end(), loc.node) == dead_nodes_.end())
      locations_[loc.id][loc.node] = {loc.offset, loc.size};
    return;
  }
  auto it = locations_.find(loc.id);
  if (it == locations_.end())
    return;
  it->second.erase(loc.node);
  if (it->second.empty())
    locations_.erase(it);
}

object_locations object_directory::locations_of(const object_id& id) const {
  object_locations out;
  out.id = id;
  if (auto it = locations_.find(id); it != locations_.end())
    for (auto& [node, where] : it->second) {
      out.nodes.push_back(node);
      out.offsets.push_back(where.first);
      out.size = where.second;
    }
  return out;
}

std::vector<core_actor> object_directory::node_died(std::uint64_t node,
                                                   std::vector<core_actor>* gone) {
  dead_nodes_.push_back(node);
  for (auto l = locations_.begin(); l != locations_.end();) {
    l->second.erase(node);
    l = l->second.empty() ? locations_.erase(l) : std::next(l);
  }
  std::vector<core_actor> left;
  for (auto it = owners_.begin(); it != owners_.end();) {
    if (it->second.node == node) {
      if (gone)
        gone->push_back(it->second.core);
      it = owners_.erase(it);
    } else {
      left.push_back(it->second.core);
      ++it;
    }
  }
  return left;
}

} // namespace troupe
