#pragma once

// How troupe processes reach each other: CAF's BASP over TLS (or, with
// --insecure, over plain TCP), always behind a frame guard and a limit of
// connections per peer address.
//
// `transport` replaces the middleman's own connection actor for everything
// troupe opens: publish, open, connect. It is the same CAF extension point
// caf_openssl uses (io::middleman_actor_impl with its own scribes and
// doormen), written here because caf_openssl 0.17 offers no hook for the
// peer identity check, builds a new OpenSSL context (reading the key files)
// for every connection, logs no refusal, and passes CAF's parser every byte.

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/io/middleman_actor.hpp>

#include "lib/net/security.hpp"
#include "lib/protocol/handles.hpp"

namespace troupe::net {

class handshakes;

/// The connection actor of one actor system: spawned by the constructor and
/// recorded for the system (so `publish`, `open`, `remote_actor` below find
/// it), stopped by the destructor, which must run before the system's.
class transport {
public:
  transport(caf::actor_system& sys, security sec);
  ~transport();
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  const security& settings() const noexcept { return sec_; }

  const caf::io::middleman_actor& actor() const noexcept { return actor_; }

private:
  caf::actor_system& sys_;
  security sec_;
  std::shared_ptr<handshakes> pending_;
  caf::io::middleman_actor actor_;
};

/// The connection actor of `sys`; throws std::logic_error when no
/// `transport` is installed (nothing may connect around it).
caf::io::middleman_actor transport_of(caf::actor_system& sys);

/// Whether `sys`'s transport runs without TLS.
bool insecure(caf::actor_system& sys);

/// The TLS context of `sys`'s transport: for connections troupe makes
/// outside CAF (the store's data channel). Null when insecure.
std::shared_ptr<tls_context> tls_of(caf::actor_system& sys);

/// Publishes `whom`, of interface `ifs`, on `port` (0: any free one) at
/// `bind` ("" for all addresses); returns the port.
caf::expected<std::uint16_t> publish(caf::actor_system& sys, caf::strong_actor_ptr whom,
                                     std::set<std::string> ifs, std::uint16_t port,
                                     const std::string& bind, bool reuse_addr);

/// Publishes the actor `whom` on `port` at `bind`; returns the port.
template <class Handle>
caf::expected<std::uint16_t> publish(caf::actor_system& sys, const Handle& whom,
                                     std::uint16_t port, const std::string& bind,
                                     bool reuse_addr) {
  return publish(sys, handle_cast<caf::strong_actor_ptr>(whom), sys.message_types(whom), port,
                 bind, reuse_addr);
}

/// Ends publishing `whom` on `port`.
void unpublish(caf::actor_system& sys, const caf::actor_addr& whom, std::uint16_t port);

/// Listens on `port` at `bind` for peers, publishing nothing.
caf::expected<std::uint16_t> open(caf::actor_system& sys, std::uint16_t port,
                                  const std::string& bind);

/// Connects to the actor published at `host`:`port`, whose interface must be
/// `ifs`.
caf::expected<caf::strong_actor_ptr> remote_actor(caf::actor_system& sys,
                                                  std::set<std::string> ifs,
                                                  const std::string& host,
                                                  std::uint16_t port);

/// Connects to the `Handle` published at `host`:`port`.
template <class Handle>
caf::expected<Handle> remote_actor(caf::actor_system& sys, const std::string& host,
                                   std::uint16_t port) {
  caf::detail::type_list<Handle> tk;
  auto x = remote_actor(sys, sys.message_types(tk), host, port);
  if (!x)
    return x.error();
  return handle_cast<Handle>(std::move(*x));
}

} // namespace troupe::net
