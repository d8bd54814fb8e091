#include "lib/core/result_outbox.hpp"

#include <algorithm>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

namespace troupe::detail {

namespace {

struct outbox_state {
  /// Per caller, the batches not sent yet, in the order they came.
  std::vector<std::pair<core_actor, std::vector<std::vector<char>>>> pending;
  bool flush_asked = false;
  static inline const char* name = "troupe.result_outbox";
};

result_outbox_actor::behavior_type
outbox_fn(result_outbox_actor::stateful_pointer<outbox_state> self) {
  return {
    [self](done_atom, const core_actor& caller, std::vector<char>& batch) {
      auto& st = self->state;
      auto it = std::find_if(st.pending.begin(), st.pending.end(),
                             [&](auto& p) { return p.first == caller; });
      if (it == st.pending.end())
        it = st.pending.insert(st.pending.end(), {caller, {}});
      it->second.push_back(std::move(batch));
      if (!st.flush_asked) {
        st.flush_asked = true;
        self->send(self, flush_atom::value);
      }
    },
    [self](flush_atom) {
      auto& st = self->state;
      st.flush_asked = false;
      for (auto& [caller, batches] : st.pending)
        self->send(caller, done_atom::value, concat_result_batches(batches));
      st.pending.clear();
    },
  };
}

} // namespace

result_outbox_actor spawn_result_outbox(caf::actor_system& sys) {
  return sys.spawn(outbox_fn);
}

std::vector<char> concat_result_batches(std::vector<std::vector<char>>& batches) {
  if (batches.size() == 1)
    return std::move(batches.front());
  std::size_t total = 0;
  for (auto& b : batches)
    total += b.size();
  std::vector<char> out;
  out.reserve(total);
  for (auto& b : batches)
    out.insert(out.end(), b.begin(), b.end());
  return out;
}

} // namespace troupe::detail
