#pragma once

// The CLI's connection to a cluster: an actor system of its own, the
// security of the CLI (TROUPE_TOKEN, TROUPE_INSECURE, else what a head
// started on this machine left) and the control store of the node it was
// pointed at. `troupe status|list|logs|metrics|job` each open one.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "lib/common/ask.hpp"
#include "lib/net/transport.hpp"
#include "lib/protocol/messages.hpp"

namespace troupe::tools {

class cli_session {
public:
  /// Connects to the node at `host:port`; throws std::runtime_error saying
  /// why it cannot (no security to use, nobody answers there).
  cli_session(const std::string& host, std::uint16_t port);
  ~cli_session();
  cli_session(const cli_session&) = delete;
  cli_session& operator=(const cli_session&) = delete;

  caf::actor_system& system() noexcept { return *sys_; }
  const control_store_actor& control() const noexcept { return cs_; }
  bool insecure() const noexcept { return insecure_; }
  const std::string& cluster_id() const noexcept { return cluster_id_; }

  /// Asks `who` and returns the reply; throws std::runtime_error
  /// `WHO did not answer: WHY`.
  template <class R, class Handle, class... Ts>
  R ask(const char* who, const Handle& dest, Ts&&... xs) {
    auto r = detail::try_ask<R>(*sys_, dest, timeout, std::forward<Ts>(xs)...);
    if (!r)
      throw std::runtime_error(std::string{who} + " did not answer: " + sys_->render(r.error()));
    return std::move(*r);
  }

  /// Returns the cluster's nodes, dead ones too.
  node_list nodes() { return ask<node_list>("the control store", cs_, nodes_atom::value); }

  std::chrono::milliseconds timeout{5000};

private:
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<net::transport> transport_;
  control_store_actor cs_;
  bool insecure_ = false;
  std::string cluster_id_;
};

/// Runs `body` on a session with the cluster at `address` (HOST:PORT; "":
/// the head started here) for CLI command `command`: a bad address, a
/// cluster out of reach or an exception of `body` is printed as
/// `troupe COMMAND: why`. Returns body's exit code, else 1 (2 for a bad
/// address).
int run_on_cluster(const char* command, std::string address,
                   const std::function<int(cli_session&)>& body);

} // namespace troupe::tools
