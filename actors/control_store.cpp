#include "actors/control_store.hpp"

#include "lib/protocol/status.hpp"

namespace troupe {

std::optional<control_store_state::node_death>
control_store_state::node_died(std::uint64_t node_id, const std::string& reason) {
  if (!nodes.mark_dead(node_id))
    return std::nullopt;
  node_death out;
  out.why = "node " + std::to_string(node_id) + " died (" + reason + ")";
  // Its owners first: an actor whose creator ran there is not rebuilt.
  out.other_owners = objects.node_died(node_id, &out.gone_owners);
  for (auto& id : actors.on_node(node_id)) {
    std::optional<actor_restart> restart;
    if (auto n = actor_died(id, "its " + out.why, true, restart))
      out.actors.push_back(std::move(*n));
    if (restart)
      out.restarts.push_back(*restart);
  }
  out.jobs = nodes.end_jobs_on(node_id);
  return out;
}

std::optional<actor_notice>
control_store_state::actor_died(const object_id& id, const std::string& why, bool restartable,
                                std::optional<actor_restart>& restart) {
  auto creator = objects.core_of(id.owner);
  auto d = actors.died(id, why, restartable, static_cast<bool>(creator));
  if (!d)
    return std::nullopt;
  if (d->restarting) {
    restart = actor_restart{id, creator, d->restarts, {}};
    if (!creator)
      if (auto* e = actors.find(id))
        restart->creation = e->creation;
  }
  return std::move(d->notice);
}

std::vector<object_id> control_store_state::owner_gone(std::uint64_t owner_id) {
  objects.remove_owner(owner_id);
  return actors.owned_by(owner_id);
}

std::string control_store_state::describe_json() const {
  auto address = [](const std::string& host, std::uint16_t port) {
    return host + ':' + std::to_string(port);
  };
  control_store_status doc;
  doc.node = {node.node_id, address(node.host, node.port), true, {}};
  for (auto& [id, n] : nodes.all())
    doc.nodes.push_back({id, address(n.host, n.port), n.alive, n.total});
  for (auto& [id, j] : nodes.jobs())
    doc.jobs.push_back({id, j.pid, j.alive});
  for (auto& [id, e] : actors.all())
    doc.actors.push_back({id.to_string(), e.rec.class_name, e.rec.name, e.rec.name_space,
                          to_string(e.phase), node_of_worker(e.worker_id), e.rec.detached,
                          e.death.message, e.worker_id, e.restarts});
  return to_json_text(doc);
}

} // namespace troupe
