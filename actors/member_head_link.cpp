#include "actors/member_head_link.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include "lib/net/transport.hpp"
#include <spdlog/spdlog.h>

#include "lib/protocol/handles.hpp"

namespace troupe {

namespace {

constexpr auto retry_every = std::chrono::seconds(1);

/// Tells a head that came back everything this node knows that it lost:
/// the node's processes, its drivers' jobs, its actors' instances (and its
/// store manager the copies it caches), then what was kept for it meanwhile.
void tell_all(cs_ptr self, const control_store_actor& head) {
  auto& s = self->state;
  for (auto& [addr, owner] : s.owners)
    self->send(head, register_atom::value, owner.first, owner.second);
  for (auto& [addr, spec] : s.jobs)
    self->request(head, std::chrono::seconds(60), hello_atom::value, spec)
        .then([](const hello_reply&) {}, [](caf::error&) {});
  for (auto& [addr, up] : s.instances)
    self->send(head, actor_up_atom::value, up.id, up.instance, up.worker_id, up.address,
               up.core);
  self->send(head, resume_atom::value, s.st.node.node_id);
  // The copies this node's store caches, for the head's object directory.
  if (s.st.node.store_manager)
    self->send(s.st.node.store_manager, object_atom::value);
  auto untyped = handle_cast<caf::actor>(head);
  for (auto& msg : std::exchange(s.backlog, {}))
    caf::anon_send(untyped, msg); // no reply expected: the sender does not matter
  for (auto& [key, req] : s.head_requests)
    req.send();
}

/// A head answers at the head's address: this node joins it again, under
/// its id, and tells it all it knows.
void rejoin(cs_ptr self, control_store_actor head) {
  auto& s = self->state;
  self->request(head, std::chrono::seconds(10), join_atom::value, s.st.node)
      .then(
          [self, head](node_info& joined) {
            auto& s = self->state;
            auto gone_for = std::chrono::steady_clock::now() - s.head_lost_at;
            s.head_cs = head;
            s.head_absent = false;
            self->monitor(head);
            s.st.node.node_id = joined.node_id;
            s.st.node.cluster = joined.cluster;
            spdlog::warn("the head is back after {} ms: node {} rejoined",
                         std::chrono::duration_cast<std::chrono::milliseconds>(gone_for).count(),
                         joined.node_id);
            // The scheduler reports to, and places through, the new
            // cluster scheduler.
            self->send(s.st.node.scheduler, node_atom::value, s.st.node);
            tell_all(self, head);
            self->request(head, std::chrono::seconds(10), nodes_atom::value)
                .then([self](const node_list& l) { set_peers(self, l.nodes); },
                      [](caf::error&) {});
          },
          [self](caf::error& e) {
            if (e == caf::sec::runtime_error) { // the head refused this node back
              spdlog::error("the head at {}:{} does not take this node back ({}): stopping",
                            self->state.head_host, self->state.head_port,
                            self->system().render(e));
              stop_node(self);
            }
            // Else not a head yet (still loading, or busy): the next tick.
          });
}

/// Asks the transport for the actor published at the head's address.
void try_connect(cs_ptr self) {
  auto& s = self->state;
  if (s.connecting)
    return;
  s.connecting = true;
  auto mm = net::transport_of(self->home_system());
  self->request(mm, std::chrono::seconds(5), caf::connect_atom::value, s.head_host,
                s.head_port)
      .then(
          [self](const caf::node_id&, caf::strong_actor_ptr& ptr,
                 const std::set<std::string>&) {
            self->state.connecting = false;
            if (ptr && self->state.head_absent)
              rejoin(self, handle_cast<control_store_actor>(ptr));
          },
          [self](caf::error&) { self->state.connecting = false; });
}

} // namespace

void to_head(cs_ptr self, caf::message msg) {
  auto& s = self->state;
  if (s.head_absent)
    s.backlog.push_back(std::move(msg));
  else // no reply expected: the sender does not matter
    caf::anon_send(handle_cast<caf::actor>(s.head_cs), std::move(msg));
}

void head_lost(cs_ptr self, const std::string& reason) {
  auto& s = self->state;
  if (s.head_absent)
    return;
  s.head_absent = true;
  s.head_lost_at = std::chrono::steady_clock::now();
  if (s.head_host.empty() || s.grace.count() == 0) {
    spdlog::error("the head node is gone ({}): stopping this node", reason);
    stop_node(self);
    return;
  }
  spdlog::warn("the head node is gone ({}): this node goes on, and looks for a head at "
               "{}:{} for {} s",
               reason, s.head_host, s.head_port, s.grace.count());
  auto why = "the head node is gone (" + reason + ")";
  for (auto& [addr, core] : s.local_cores)
    self->send(core, node_down_atom::value, head_node_id, why);
  s.peers.erase(head_node_id);
  self->delayed_send(self, retry_every, tick_atom::value);
}

void member_tick(cs_ptr self) {
  auto& s = self->state;
  if (!s.head_absent)
    return;
  if (std::chrono::steady_clock::now() - s.head_lost_at >= s.grace) {
    auto why = "the head at " + s.head_host + ":" + std::to_string(s.head_port)
               + " did not come back within " + std::to_string(s.grace.count()) + " s";
    spdlog::error("head_unavailable: {}: stopping this node", why);
    for (auto& [key, req] : std::exchange(s.head_requests, {}))
      req.fail(caf::make_error(caf::sec::runtime_error, "head_unavailable: " + why));
    stop_node(self);
    return;
  }
  try_connect(self);
  self->delayed_send(self, retry_every, tick_atom::value);
}

} // namespace troupe
