// client::get_many: the values of many refs, as `get` one after another
// reads them, but with the round trips that would come one after another
// made at once: every owner is asked for its borrowed values together, and
// the values in other nodes' stores are pulled into this node's a window at
// a time. A value this cannot do better for is read by `get` itself (its
// errors, timeouts and rebuilds are `get`'s).
#include "lib/core/client.hpp"

#include <chrono>
#include <deque>
#include <optional>

#include <caf/scoped_actor.hpp>

#include "lib/core/object_table.hpp"

namespace troupe::detail {

namespace {

/// Pulls in flight at once: enough to hide the round trips to other nodes,
/// few enough that one get does not flood this node's store manager.
constexpr std::size_t pull_window = 128;

using pull_handle = decltype(std::declval<caf::scoped_actor&>()->request(
  std::declval<store_manager_actor&>(), std::chrono::seconds(1), pull_atom::value,
  std::declval<pull_request>()));

/// A pull under way: which ref, its value as the table holds it, the answer.
struct pending_pull {
  std::size_t index;
  stored_value value;
  pull_handle answer;
};

/// Every borrowed value not here yet is asked of its owner now, not when
/// `get` reaches it (the core asks each owner once).
template <class Core>
void ask_owners(const std::vector<ref_ptr>& refs, object_table& table, std::uint64_t me,
                const Core& core) {
  for (auto& r : refs) {
    if (!r)
      continue;
    auto id = ref_id(*r);
    if (id.owner != me && table.peek(id) == object_table::status::pending)
      caf::anon_send(core, fetch_atom::value, id);
  }
}

} // namespace

std::vector<raw_value> client::get_many(const std::vector<ref_ptr>& refs,
                                        const deadline& until) {
  std::vector<raw_value> out;
  out.reserve(refs.size());
  if (refs.size() < 2) {
    for (auto& r : refs)
      out.push_back(get(r, until));
    return out;
  }
  ask_owners(refs, *table_, owner_id_, core_);
  std::optional<caf::scoped_actor> self; // made for the first pull only
  std::deque<pending_pull> pulls;
  // Refs before `ahead` are decided: pulled (in `pulls`) or left to `get`.
  std::size_t ahead = 0;
  auto look_ahead = [&](std::size_t from) {
    ahead = std::max(ahead, from);
    while (ahead < refs.size() && pulls.size() < pull_window) {
      stored_value v;
      bool pullable = false;
      auto st = refs[ahead] ? table_->peek_pullable(ref_id(*refs[ahead]), node_.node_id, &v,
                                                    &pullable)
                            : object_table::status::unknown;
      if (st == object_table::status::pending)
        return; // known when `get` reaches it; the window waits behind it
      if (pullable) {
        using namespace std::chrono_literals;
        if (!self)
          self.emplace(*system_);
        auto answer = (*self)->request(node_.store_manager, 600s, pull_atom::value,
                                    pull_request{v.id, v.node, v.offset});
        pulls.push_back({ahead, std::move(v), answer});
      }
      ++ahead;
    }
  };
  // Answers not read when a `get` throws still hand over their pins.
  auto drain = [&] {
    for (auto& p : pulls)
      p.answer.receive(
        [&](std::uint64_t offset) {
          if (mapping_->store->adopt(offset, p.value.id))
            release_local_pin(offset);
        },
        [](caf::error&) {});
    pulls.clear();
  };
  try {
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (pulls.empty()) {
        // A run of values here already: read in one go (pulls go in order,
        // so only while none is under way).
        i += table_->read_ready(refs, i, out);
        if (i == refs.size())
          break;
      }
      look_ahead(i);
      if (pulls.empty() || pulls.front().index != i) {
        out.push_back(get(refs[i], until));
        continue;
      }
      auto p = std::move(pulls.front());
      pulls.pop_front();
      std::optional<std::uint64_t> local;
      p.answer.receive([&](std::uint64_t offset) { local = offset; }, [](caf::error&) {});
      if (local && mapping_->store->adopt(*local, p.value.id))
        out.push_back(view_pulled(p.value, *local));
      else
        out.push_back(get(refs[i], until)); // says why, or rebuilds it
    }
  } catch (...) {
    drain();
    throw;
  }
  return out;
}

} // namespace troupe::detail
