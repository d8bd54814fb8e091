#include "actors/control_store_roles.hpp"

#include <caf/all.hpp>

#include "actors/node_logs.hpp"
#include "lib/common/config.hpp"

namespace troupe {

namespace {

/// Introduces `cores` (processes of this node) to the control store `peer`.
void introduce(cs_ptr self, const control_store_actor& peer,
               std::vector<core_actor> cores) {
  if (peer && !cores.empty())
    self->send(peer, introduce_atom::value, owner_list{std::move(cores)});
}

} // namespace

void stop_node(cs_ptr self) {
  auto& node = self->state.st.node;
  if (self->state.head() && node.cluster)
    caf::anon_send_exit(node.cluster, caf::exit_reason::user_shutdown);
  auto store = node.store_manager;
  self->request(node.scheduler, std::chrono::seconds(5), stop_atom::value)
      .then(
          [=](bool) {
            self->request(store, std::chrono::seconds(5), stop_atom::value)
                .then([=](bool) { self->quit(); }, [=](caf::error&) { self->quit(); });
          },
          [=](caf::error&) { self->quit(); });
}

void set_peers(cs_ptr self, const std::vector<node_info>& nodes) {
  auto& s = self->state;
  std::vector<core_actor> ours;
  for (auto& [addr, core] : s.local_cores)
    ours.push_back(core);
  for (auto& n : nodes) {
    if (n.node_id == s.st.node.node_id || !n.control)
      continue;
    if (!n.alive) {
      s.peers.erase(n.node_id);
      continue;
    }
    if (s.peers.emplace(n.node_id, n.control).second)
      introduce(self, n.control, ours);
  }
}

void note_process(cs_ptr self, const core_actor& core, std::uint64_t node_id) {
  auto& s = self->state;
  if (node_id == s.st.node.node_id && core &&
      s.local_cores.emplace(core.address(), core).second)
    for (auto& [id, peer] : s.peers)
      introduce(self, peer, {core});
}

void forget_process(cs_ptr self, const caf::actor_addr& addr) {
  self->state.local_cores.erase(addr);
}

namespace {

control_store_actor::behavior_type cs_fn(cs_ptr self, node_info node,
                                         control_store_actor head,
                                         control_store_options opts) {
  auto& s = self->state;
  s.head_cs = std::move(head);
  s.st.node = std::move(node);
  s.records = std::move(opts.records);
  s.grace = opts.grace;
  s.head_host = std::move(opts.head_host);
  s.head_port = opts.head_port;
  return s.head() ? head_behavior(self) : member_behavior(self);
}

} // namespace

control_store_actor spawn_control_store(caf::actor_system& sys, node_info node,
                                        control_store_actor head,
                                        control_store_options opts) {
  return sys.spawn(cs_fn, std::move(node), std::move(head), std::move(opts));
}

std::string list_node_logs(cs_ptr self) {
  return log_files_json(self->state.st.node.node_id,
                        list_log_files(detail::env_or("TROUPE_SESSION_DIR", "")));
}

owner_list node_processes(cs_ptr self) {
  owner_list out;
  for (auto& [addr, core] : self->state.local_cores)
    out.cores.push_back(core);
  return out;
}

caf::result<std::string> read_node_log(const std::string& file, std::uint64_t offset,
                                       std::uint64_t max) {
  try {
    return read_log_file(detail::env_or("TROUPE_SESSION_DIR", ""), file, offset, max);
  } catch (const std::exception& e) {
    return caf::make_error(caf::sec::runtime_error, e.what());
  }
}

} // namespace troupe
