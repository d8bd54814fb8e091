#include "lib/core/result_outbox.hpp"

#include <algorithm>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <capnp/message.h>

#include "lib/protocol/capnp_codec.hpp"

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
      for (auto& [caller, batches] : st.pending) {
        if (batches.size() > 1) {
          try {
            self->send(caller, done_atom::value, merge_result_batches(batches));
            continue;
          } catch (const std::exception&) {
            // Each as it came: the caller says which one it cannot read.
          }
        }
        for (auto& b : batches)
          self->send(caller, done_atom::value, std::move(b));
      }
      st.pending.clear();
    },
  };
}

} // namespace

result_outbox_actor spawn_result_outbox(caf::actor_system& sys) {
  return sys.spawn(outbox_fn);
}

std::vector<char> merge_result_batches(const std::vector<std::vector<char>>& batches) {
  std::vector<message_reader> readers;
  readers.reserve(batches.size());
  unsigned total = 0;
  std::size_t words = 0;
  for (auto& b : batches) {
    readers.emplace_back(b);
    total += readers.back().root<schema::ResultBatch>().getResults().size();
    words += b.size() / sizeof(capnp::word);
  }
  capnp::MallocMessageBuilder out{first_segment_words(words, 1)};
  auto list = out.initRoot<schema::ResultBatch>().initResults(total);
  unsigned i = 0;
  for (auto& r : readers)
    for (auto one : r.root<schema::ResultBatch>().getResults())
      list.setWithCaveats(i++, one);
  return to_bytes(out);
}

} // namespace troupe::detail
