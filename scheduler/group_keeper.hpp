#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "lib/protocol/messages.hpp"

namespace troupe::sched {

/// Where the cluster scheduler keeps its placement groups, so that a head
/// restarted from its state store (actors/head_records.hpp implements this)
/// takes them back: their specs, states and bundles' nodes, and the next
/// group id. Each call is durable when it returns, and throws
/// std::exception when it cannot be.
class group_keeper {
public:
  struct restored {
    std::vector<std::pair<group_spec, group_state>> groups;
    std::uint64_t next_group = 1;
    /// Nodes that were alive when the head died (the head's own excepted):
    /// until each joins again or is given up, groups with bundles on it wait.
    std::vector<std::uint64_t> nodes;
  };

  virtual ~group_keeper() = default;

  /// Writes a group as it is now (made, placed), and the next id.
  virtual void save(const group_spec& spec, const group_state& state,
                    std::uint64_t next_group)
    = 0;

  /// Erases a removed group.
  virtual void erase(std::uint64_t id) = 0;

  /// Reads what a previous head kept.
  virtual restored load() = 0;
};

} // namespace troupe::sched
