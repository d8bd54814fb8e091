// The submitter's light-actor calls: held back by `flush`, sent a host at
// a time by `flush_light` (submitter.hpp).
#include "lib/core/submitter.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "lib/protocol/handles.hpp"

namespace troupe::detail {

void submitter::flush_light() {
  light_flush_asked_ = false;
  std::vector<std::pair<core_actor, light_calls>> hosts;
  // A host's core by its control block: comparing handles compares actor
  // addresses, node and id, which costs more here than the rest of a call.
  auto block = [](const core_actor& x) { return handle_cast<caf::actor_control_block*>(x); };
  // First which host each actor's calls go to and how many go to each, so
  // each message is sized once: regrowing one past 64 KiB made glibc
  // consolidate its free chunks, every time.
  std::vector<std::uint32_t> host_of(dirty_light_.size(), UINT32_MAX);
  std::vector<std::size_t> count;
  for (std::size_t i = 0; i < dirty_light_.size(); ++i) {
    auto& a = *dirty_light_[i];
    if (a.outbox.empty() || !a.shared)
      continue; // sent back to its queue meanwhile (a restart), or dead
    auto* core = block(a.worker_core);
    auto h = std::find_if(hosts.begin(), hosts.end(),
                          [&](auto& x) { return block(x.first) == core; });
    if (h == hosts.end()) {
      h = hosts.insert(hosts.end(), {a.worker_core, {}});
      count.push_back(0);
    }
    auto index = static_cast<std::size_t>(h - hosts.begin());
    host_of[i] = static_cast<std::uint32_t>(index);
    ++count[index];
  }
  for (std::size_t h = 0; h < hosts.size(); ++h) {
    hosts[h].second.actors.reserve(count[h]);
    hosts[h].second.batches.reserve(count[h]);
  }
  for (std::size_t i = 0; i < dirty_light_.size(); ++i) {
    auto& a = *dirty_light_[i];
    if (host_of[i] == UINT32_MAX || a.outbox.empty())
      continue; // an actor listed twice (requeued by a restart) went already
    auto& calls = hosts[host_of[i]].second;
    calls.actors.push_back(a.instance_id);
    calls.batches.push_back(encode_batch(a.outbox));
    a.outbox.clear();
  }
  dirty_light_.clear();
  for (auto& [host, calls] : hosts)
    io_.push_to_host(host, std::move(calls));
}

} // namespace troupe::detail
