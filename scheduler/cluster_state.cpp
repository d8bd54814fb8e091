#include "scheduler/cluster_state.hpp"

#include <algorithm>
#include <limits>

#include "scheduler/resources.hpp"

namespace troupe::sched {

namespace {

constexpr double pack_threshold = 0.5;

resource_map sum(const std::vector<resource_map>& bundles) {
  resource_map out;
  for (auto& b : bundles)
    give(out, b);
  return out;
}

const char* strategy_name(placement_strategy s) {
  switch (s) {
    case placement_strategy::pack: return "PACK";
    case placement_strategy::spread: return "SPREAD";
    case placement_strategy::strict_pack: return "STRICT_PACK";
    case placement_strategy::strict_spread: return "STRICT_SPREAD";
  }
  return "?";
}

/// Returns the node `id` among `feasible`, or null.
cluster_state::node_view*
find_node(const std::vector<cluster_state::node_view*>& feasible, std::uint64_t id) {
  for (auto* n : feasible)
    if (n->id == id)
      return n;
  return nullptr;
}

/// Takes the request's resources from the chosen node at once (or queues it
/// there when they are taken), until the node's next report, so that a burst
/// of requests does not all go to one node.
std::uint64_t commit(cluster_state::node_view& n, const resource_map& r) {
  if (fits(n.available, r))
    take(n.available, r);
  else
    ++n.queued;
  return n.id;
}

} // namespace

void cluster_state::add_node(std::uint64_t id, const resource_map& total) {
  auto& n = nodes_[id];
  n.id = id;
  n.total = total;
  n.available = total;
  n.alive = true;
  // Bundles placed here before (a node joining a restarted head again): they
  // are reserved there, until its first report says so.
  for (auto& [gid, g] : groups_)
    if (g.state.state == group_state::placed)
      for (std::size_t i = 0; i < g.state.nodes.size(); ++i)
        if (g.state.nodes[i] == id)
          take(n.available, g.spec.bundles[i]);
}

void cluster_state::remove_node(std::uint64_t id) {
  if (auto it = nodes_.find(id); it != nodes_.end()) {
    it->second.alive = false;
    it->second.available.clear();
  }
}

void cluster_state::update(const resource_report& r) {
  auto it = nodes_.find(r.node_id);
  if (it == nodes_.end() || !it->second.alive)
    return;
  it->second.total = r.total;
  it->second.available = r.available;
  it->second.queued = r.queued;
  it->second.reported = std::chrono::steady_clock::now();
}

double cluster_state::utilization(const node_view& n) {
  double u = 0;
  for (auto& [name, total] : n.total) {
    if (total <= 0)
      continue;
    auto it = n.available.find(name);
    auto avail = it == n.available.end() ? 0.0 : it->second;
    u = std::max(u, (total - avail) / total);
  }
  return u;
}

const cluster_state::node_view* cluster_state::alive_node(std::uint64_t id) const {
  auto it = nodes_.find(id);
  return it != nodes_.end() && it->second.alive ? &it->second : nullptr;
}

std::uint64_t cluster_state::place_in_group(const lease_request& req,
                                            const std::string& label,
                                            std::string& why) const {
  auto git = groups_.find(req.strategy.group);
  if (git == groups_.end() || git->second.state.state == group_state::removed) {
    why = label + " names placement group " + std::to_string(req.strategy.group)
          + ", which does not exist (or was removed)";
    return 0;
  }
  auto& g = git->second;
  if (g.state.state == group_state::infeasible) {
    why = label + " is in placement group " + std::to_string(req.strategy.group)
          + ", which can never be placed: " + g.state.why;
    return 0;
  }
  if (g.state.state != group_state::placed)
    return 0; // why stays empty: wait until the group is placed
  auto& bundles = g.spec.bundles;
  if (req.strategy.bundle >= static_cast<std::int32_t>(bundles.size())) {
    why = label + " asks for bundle " + std::to_string(req.strategy.bundle) + " of placement group "
          + std::to_string(req.strategy.group) + ", which has " + std::to_string(bundles.size());
    return 0;
  }
  std::string dead;
  for (std::size_t i = 0; i < bundles.size(); ++i) {
    if (req.strategy.bundle >= 0 && static_cast<std::size_t>(req.strategy.bundle) != i)
      continue;
    if (!fits(bundles[i], req.resources))
      continue;
    if (auto* n = alive_node(g.state.nodes[i]))
      return n->id;
    dead += (dead.empty() ? "" : ", ") + std::to_string(i);
  }
  if (!dead.empty()) {
    why = label + ": the node of bundle " + dead + " of placement group "
          + std::to_string(req.strategy.group) + " is dead";
    return 0;
  }
  why = label + " does not fit in "
        + (req.strategy.bundle >= 0 ? "bundle " + std::to_string(req.strategy.bundle) : "any bundle")
        + " of placement group " + std::to_string(req.strategy.group);
  return 0;
}

std::vector<cluster_state::node_view*>
cluster_state::feasible_nodes(const resource_map& r) {
  std::vector<node_view*> feasible;
  for (auto& [id, n] : nodes_)
    if (n.alive && fits(n.total, r))
      feasible.push_back(&n);
  return feasible;
}

std::string cluster_state::no_feasible_node(const std::string& label) const {
  auto why = "task " + label + " cannot run on any node of the cluster:";
  for (auto& [id, n] : nodes_)
    why += " node " + std::to_string(id) + (n.alive ? " has " + to_string(n.total) : " is dead")
           + ";";
  if (why.back() == ';')
    why.pop_back();
  return why;
}

std::string cluster_state::affinity_refusal(const lease_request& req,
                                            const std::string& label) const {
  auto it = nodes_.find(req.strategy.node);
  return label + " must run on node " + std::to_string(req.strategy.node) + ", which "
         + (it == nodes_.end()   ? std::string{"is not in the cluster"}
            : !it->second.alive ? std::string{"is dead"}
                                : "has only " + to_string(it->second.total));
}

cluster_state::node_view*
cluster_state::pick_spread(const lease_request& req,
                           const std::vector<node_view*>& feasible) {
  // Round robin, starting after the node chosen last; nodes with room first.
  for (int pass = 0; pass < 2; ++pass) {
    auto start = std::find_if(feasible.begin(), feasible.end(),
                              [&](auto* n) { return n->id > spread_next_; });
    for (std::size_t k = 0; k < feasible.size(); ++k) {
      auto idx = (static_cast<std::size_t>(start - feasible.begin()) + k) % feasible.size();
      auto* n = feasible[idx];
      if (pass == 0 && !fits(n->available, req.resources))
        continue;
      spread_next_ = n->id;
      return n;
    }
  }
  return nullptr;
}

cluster_state::node_view*
cluster_state::pick_default(const lease_request& req, std::uint64_t origin,
                            const std::vector<node_view*>& feasible) {
  auto has_room = [&](const node_view* n) { return fits(n->available, req.resources); };
  if (auto* n = find_node(feasible, req.locality_node); n && has_room(n))
    return n;
  if (auto* n = find_node(feasible, origin); n && has_room(n))
    return n;
  for (auto* n : feasible) {
    if (!has_room(n))
      continue;
    auto after = *n;
    take(after.available, req.resources);
    if (utilization(after) <= pack_threshold)
      return n;
  }
  node_view* best = nullptr;
  for (auto* n : feasible)
    if (has_room(n) && (!best || utilization(*n) < utilization(*best)))
      best = n;
  if (best)
    return best;
  if (auto* n = find_node(feasible, origin))
    return n;
  for (auto* n : feasible)
    if (!best || n->queued < best->queued)
      best = n;
  return best;
}

std::uint64_t cluster_state::place(const lease_request& req, std::uint64_t origin,
                                   std::string& why) {
  auto label = "'" + req.task_name + "' (" + to_string(req.resources) + ")";
  using kind = scheduling_strategy::kind;
  // A request in a group runs in a bundle's reserved resources: whether a
  // node could hold it was settled when the group was placed.
  if (req.strategy.type == kind::placement_group)
    return place_in_group(req, label, why);
  auto feasible = feasible_nodes(req.resources);
  if (feasible.empty()) {
    why = no_feasible_node(label);
    return 0;
  }
  if (req.strategy.type == kind::node_affinity) {
    if (auto* n = find_node(feasible, req.strategy.node))
      return commit(*n, req.resources);
    if (!req.strategy.soft) {
      why = affinity_refusal(req, label);
      return 0;
    }
    // Soft: placed as if it had no strategy.
  } else if (req.strategy.type == kind::spread) {
    if (auto* n = pick_spread(req, feasible))
      return commit(*n, req.resources);
  }
  return commit(*pick_default(req, origin, feasible), req.resources);
}

std::string cluster_state::infeasible_group(const group_spec& spec) const {
  std::vector<const node_view*> alive;
  for (auto& [id, n] : nodes_)
    if (n.alive)
      alive.push_back(&n);
  auto strategy = spec.strategy;
  if (strategy == placement_strategy::strict_pack) {
    auto all = sum(spec.bundles);
    for (auto* n : alive)
      if (fits(n->total, all))
        return {};
    return "STRICT_PACK needs " + to_string(all) + " on one node, and no node has that";
  }
  if (strategy == placement_strategy::strict_spread && spec.bundles.size() > alive.size())
    return "STRICT_SPREAD needs " + std::to_string(spec.bundles.size())
           + " nodes, one per bundle, and the cluster has " + std::to_string(alive.size())
           + " alive";
  for (std::size_t i = 0; i < spec.bundles.size(); ++i)
    if (std::none_of(alive.begin(), alive.end(),
                     [&](auto* n) { return fits(n->total, spec.bundles[i]); }))
      return "bundle " + std::to_string(i) + " " + to_string(spec.bundles[i])
             + " does not fit on any node";
  // Each fits somewhere; do they fit together, on empty nodes?
  std::map<std::uint64_t, resource_map> totals;
  for (auto* n : alive)
    totals[n->id] = n->total;
  std::vector<std::uint64_t> chosen;
  if (!assign(spec, std::move(totals), chosen))
    return "the bundles " + to_string(sum(spec.bundles))
           + " do not fit the cluster's nodes together, even when they are idle";
  return {};
}

bool cluster_state::assign(const group_spec& spec, std::map<std::uint64_t, resource_map> room,
                           std::vector<std::uint64_t>& chosen) {
  auto strategy = spec.strategy;
  auto& bundles = spec.bundles;
  chosen.clear();
  if (strategy == placement_strategy::strict_pack || strategy == placement_strategy::pack) {
    auto all = sum(bundles);
    for (auto& [id, r] : room)
      if (fits(r, all)) {
        chosen.assign(bundles.size(), id);
        return true;
      }
    if (strategy == placement_strategy::strict_pack)
      return false;
  }
  bool spread = strategy == placement_strategy::spread
                || strategy == placement_strategy::strict_spread;
  auto used = [&](std::uint64_t id) {
    return std::find(chosen.begin(), chosen.end(), id) != chosen.end();
  };
  for (auto& b : bundles) {
    std::uint64_t pick = 0;
    // Spreading prefers nodes the group does not use yet; packing prefers
    // the ones it does.
    for (auto& [id, r] : room)
      if (fits(r, b) && used(id) != spread) {
        pick = id;
        break;
      }
    if (pick == 0 && strategy != placement_strategy::strict_spread)
      for (auto& [id, r] : room)
        if (fits(r, b)) {
          pick = id;
          break;
        }
    if (pick == 0)
      return false;
    take(room[pick], b);
    chosen.push_back(pick);
  }
  return true;
}

bool cluster_state::try_place(group& g) {
  std::map<std::uint64_t, resource_map> room;
  for (auto& [id, n] : nodes_)
    if (n.alive)
      room[id] = n.available;
  std::vector<std::uint64_t> chosen;
  if (!assign(g.spec, std::move(room), chosen))
    return false;
  auto& bundles = g.spec.bundles;
  for (std::size_t i = 0; i < bundles.size(); ++i)
    take(nodes_[chosen[i]].available, bundles[i]);
  g.state.nodes = std::move(chosen);
  g.state.state = group_state::placed;
  return true;
}

const group_state& cluster_state::add_group(const group_spec& spec, bool place_now) {
  auto& g = groups_[spec.id];
  g.spec = spec;
  g.state.id = spec.id;
  g.checked = false;
  if (place_now)
    settle(g);
  return g.state;
}

void cluster_state::restore_group(const group_spec& spec, const group_state& state) {
  auto& g = groups_[spec.id];
  g.spec = spec;
  g.state = state;
  g.checked = true;
}

void cluster_state::settle(group& g) {
  g.checked = true;
  if (g.spec.bundles.empty()) {
    g.state.state = group_state::infeasible;
    g.state.why = "a placement group needs at least one bundle";
  } else if (auto why = infeasible_group(g.spec); !why.empty()) {
    g.state.state = group_state::infeasible;
    g.state.why = std::string{strategy_name(g.spec.strategy)} + " placement group: " + why;
  } else {
    try_place(g);
  }
}

std::vector<std::uint64_t> cluster_state::place_pending_groups() {
  std::vector<std::uint64_t> out;
  for (auto& [id, g] : groups_) {
    if (g.state.state != group_state::pending)
      continue;
    if (!g.checked)
      settle(g);
    else
      try_place(g);
    if (g.state.state != group_state::pending)
      out.push_back(id);
  }
  return out;
}

group_state cluster_state::remove_group(std::uint64_t id) {
  auto it = groups_.find(id);
  if (it == groups_.end())
    return {};
  auto before = it->second.state;
  if (before.state == group_state::placed)
    for (std::size_t i = 0; i < before.nodes.size(); ++i)
      if (auto n = nodes_.find(before.nodes[i]); n != nodes_.end() && n->second.alive)
        give(n->second.available, it->second.spec.bundles[i]);
  it->second.state.state = group_state::removed;
  return before;
}

const cluster_state::group* cluster_state::find_group(std::uint64_t id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : &it->second;
}

} // namespace troupe::sched
