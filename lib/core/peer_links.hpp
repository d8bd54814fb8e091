#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/node_id.hpp>

#include "lib/protocol/messages.hpp"

namespace troupe::detail {

/// The direct connections from this process to the processes it sends to.
///
/// Every driver and worker listens on a port of its own (its `endpoint`,
/// which grants, actor locations and owner entries carry). Without a direct
/// connection, a message to another process goes through the node daemons:
/// two more hops, and CAF tells a routed proxy nothing when the far process
/// dies. So the first message to a peer whose endpoint is known opens a
/// connection to it, and later ones use it. Connections are opened on first
/// use only (never one to every process of the cluster), and at most
/// `max_direct` of them: past that, peers are reached through the relay.
///
/// Messages to a peer are held back while its connection is being made and
/// sent in the order they were queued once it is settled (through the relay
/// if it failed), so moving from relay to direct never reorders them.
///
/// Peer states:
///
///     unknown ----(1) send, endpoint known, under the cap--> connecting
///     unknown ----(2) send, no endpoint or at the cap-------> (sent as is)
///     connecting -(3) connected--------------------------> direct
///     connecting -(4) failed, or answered by another node-> relayed
///     direct, relayed -(5) lost (an actor of it went down)--> forgotten
class peer_links {
public:
  using peer = caf::node_id;
  using action = std::function<void()>;

  /// Opens connections: the core actor asks the middleman, and answers with
  /// `on_connected` or `on_failed`.
  class io {
  public:
    virtual ~io() = default;
    virtual void connect(const endpoint& where) = 0;
  };

  /// `self`: this process's node (never connected to); `max_direct`: the
  /// most direct connections opened (0 turns them off).
  peer_links(io& out, peer self, std::size_t max_direct);

  /// Remembers where `who` takes connections (an empty endpoint is ignored).
  void learn(const peer& who, const endpoint& where);

  /// Runs `send_it` now, or once the connection to `who` is settled.
  void send(const peer& who, action send_it);

  /// The connection to `where` is up, to node `who`.
  void on_connected(const endpoint& where, const peer& who);
  /// The connection to `where` could not be made.
  void on_failed(const endpoint& where, const std::string& why);
  /// An actor of `who` went down, so its connection may have dropped: `who`
  /// is forgotten, and once learnt again its next message connects again (at
  /// once when the connection is in fact still up). Dead peers leave nothing.
  void lost(const peer& who);

  /// Returns whether messages to `who` take a direct connection.
  bool is_direct(const peer& who) const;
  /// Returns whether a message to `who` goes at once, nothing to connect or
  /// wait for: then the caller sends it itself (no action is made).
  bool sends_now(const peer& who) const;
  /// Returns the number of direct connections opened and up.
  std::size_t direct_count() const noexcept { return direct_; }

private:
  enum class state { unknown, connecting, direct, relayed };
  struct link {
    endpoint where;
    state st = state::unknown;
    std::vector<action> held;
  };

  /// Settles the connection being made to `where`: runs what was held.
  void settle(const endpoint& where, state outcome, const peer* answered_by);

  io& io_;
  peer self_;
  std::size_t max_direct_;
  std::size_t direct_ = 0;
  std::size_t connecting_ = 0;
  std::unordered_map<peer, link> links_;
};

} // namespace troupe::detail
