#pragma once

// Where tasks and actors run in a cluster of several nodes: scheduling
// strategies and placement groups (bundles of resources reserved together).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace troupe {

/// A node of the cluster, named by the id `troupe status` and `nodes()` show.
using node_id = std::uint64_t;

class placement_group;

/// How the scheduler picks a node for a task or an actor.
///
/// - `default_strategy()`: run where the submitter is while that node has
///   room (and near the largest arguments), then spread over the others.
/// - `spread()`: one after another over all nodes that can run it.
/// - `on_node(id)`: only on that node (an error if it is dead or too small);
///   `on_node(id, true)` prefers it and falls back to the default.
/// - `in_group(pg, i)`: in bundle `i` of a placement group (any bundle for -1).
struct scheduling_strategy {
  enum class kind : std::uint8_t { default_, spread, node_affinity, placement_group };
  kind type = kind::default_;
  node_id node = 0;
  bool soft = false;
  std::uint64_t group = 0;
  std::int32_t bundle = -1;

  static scheduling_strategy default_strategy() { return {}; }
  static scheduling_strategy spread() { return {kind::spread}; }
  static scheduling_strategy on_node(node_id id, bool soft = false) {
    return {kind::node_affinity, id, soft};
  }
  static scheduling_strategy in_group(const placement_group& pg, std::int32_t bundle = -1);
};

/// How the bundles of a placement group are spread over nodes.
enum class placement_strategy : std::uint8_t {
  pack,          ///< as few nodes as possible
  spread,        ///< as many nodes as possible
  strict_pack,   ///< all on one node, or not at all
  strict_spread, ///< each on a node of its own, or not at all
};

/// Resources reserved together on the cluster's nodes. A group is created
/// at once and placed when its bundles fit; tasks and actors then run in its
/// bundles (`scheduling_strategy::in_group`), using the reserved resources.
class placement_group {
public:
  placement_group() = default;
  explicit placement_group(std::uint64_t id) : id_(id) {}

  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }

  /// Waits until every bundle is reserved; returns false when `timeout`
  /// passes first. Throws `unschedulable_error` when no set of nodes can
  /// ever hold the bundles (e.g. STRICT_SPREAD over more bundles than nodes).
  bool wait(std::chrono::milliseconds timeout) const;

  /// Returns the node of each bundle (empty until the group is placed).
  [[nodiscard]] std::vector<node_id> bundle_nodes() const;

private:
  std::uint64_t id_ = 0;
};

/// Asks the cluster to reserve `bundles`, e.g. `{{{"CPU", 1}}, {{"CPU", 1}}}`.
placement_group create_placement_group(
  const std::vector<std::map<std::string, double>>& bundles,
  placement_strategy strategy = placement_strategy::pack);

/// Gives the group's resources back and returns once the cluster scheduler
/// has removed the group (`wait` on it then throws, and its resources are
/// free for other groups and tasks); tasks and actors in it keep running.
/// Removing a group twice is harmless. Throws `error` (runtime) when the
/// cluster scheduler does not answer within 10 s.
void remove_placement_group(const placement_group& pg);

inline scheduling_strategy scheduling_strategy::in_group(const placement_group& pg,
                                                         std::int32_t bundle) {
  scheduling_strategy s;
  s.type = kind::placement_group;
  s.group = pg.id();
  s.bundle = bundle;
  return s;
}

/// A node as `nodes()` describes it.
struct node_description {
  node_id id = 0;
  std::string address; ///< HOST:PORT of its daemon
  bool alive = false;
  std::map<std::string, double> total;
};

/// Returns the cluster's nodes, the dead ones included.
std::vector<node_description> nodes();

/// Returns the resources of the cluster's live nodes, summed by name
/// (`{"CPU": 4, "memory": ...}`, Ray's `cluster_resources()`).
std::map<std::string, double> cluster_resources();

/// Returns the id of the node this process runs on.
node_id current_node_id();

} // namespace troupe
