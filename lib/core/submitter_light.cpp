// The submitter's light-actor calls: held back by `flush`, sent a host at
// a time by `flush_light` (submitter.hpp).
#include "lib/core/submitter.hpp"

#include <algorithm>
#include <utility>

#include "lib/protocol/handles.hpp"

namespace troupe::detail {

void submitter::flush_light() {
  light_flush_asked_ = false;
  std::vector<std::pair<core_actor, light_calls>> hosts;
  // A host's core by its control block: comparing handles compares actor
  // addresses, node and id, which costs more here than the rest of a call.
  auto block = [](const core_actor& x) { return handle_cast<caf::actor_control_block*>(x); };
  for (auto* dirty : dirty_light_) {
    auto& a = *dirty;
    if (a.outbox.empty() || !a.shared)
      continue; // sent back to its queue meanwhile (a restart), or dead
    auto* core = block(a.worker_core);
    auto h = std::find_if(hosts.begin(), hosts.end(),
                          [&](auto& x) { return block(x.first) == core; });
    if (h == hosts.end())
      h = hosts.insert(hosts.end(), {a.worker_core, {}});
    h->second.actors.push_back(a.instance_id);
    h->second.batches.push_back(encode_batch(a.outbox));
    a.outbox.clear();
  }
  dirty_light_.clear();
  for (auto& [host, calls] : hosts)
    io_.push_to_host(host, std::move(calls));
}

} // namespace troupe::detail
