#pragma once

// TLS for every connection between troupe processes: one OpenSSL context per
// process (made once from its credentials, not per connection), and a
// session per connection that CAF's network layer drives without blocking.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "lib/net/credentials.hpp"

namespace troupe::net {

class tls_session;

/// The process's TLS configuration: TLS 1.3 only, a certificate required
/// from both sides, chained to the cluster's CA and, checked on top of that,
/// naming this cluster (its organisation is the cluster id) and a troupe
/// role (its common name starts with "troupe ").
class tls_context {
public:
  explicit tls_context(const credentials& creds);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  /// A session for the connection on `fd` (non-blocking): `accepted` for
  /// one this process accepted, else one it opened. Returns nullptr (and
  /// logs why) when the handshake failed at once.
  std::unique_ptr<tls_session> open_session(int fd, bool accepted);

  const std::string& cluster_id() const noexcept { return cluster_id_; }

  SSL_CTX* native() const noexcept { return ctx_; }

private:
  SSL_CTX* ctx_ = nullptr;
  std::string cluster_id_;
};

/// One connection's TLS. Its calls never block: a call that needs the peer's
/// bytes first reports `again`.
class tls_session {
public:
  enum class status { ok, again, closed };

  tls_session(SSL* ssl, int fd, bool accepted);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  /// Reads up to `len` decrypted bytes into `buf`; `n` is set to how many.
  status read(void* buf, std::size_t len, std::size_t& n);

  /// Encrypts and sends up to `len` bytes of `buf`; `n` is set to how many
  /// were taken.
  status write(const void* buf, std::size_t len, std::size_t& n);

  /// Goes on with the handshake; `ok` once it is done.
  status handshake();

  /// Runs the handshake to its end, waiting for the socket (non-blocking or
  /// not) up to `timeout`: `ok`, `closed` (refused, logged), or `again` when
  /// the time ran out (logged).
  status finish_handshake(std::chrono::milliseconds timeout);

  /// Decrypted bytes waiting in the session (no socket event announces them).
  std::size_t pending() const;

  /// Whether the handshake is done.
  bool established() const noexcept { return established_; }

  /// The peer's certificate name, once established.
  const std::string& peer() const noexcept { return peer_; }

  /// Why the verification of the peer's certificate failed, if it did (set
  /// by the context's verify callback).
  std::string refusal;

private:
  status result_of(int ret, const char* what);
  /// A read or write (`f`) once the handshake is done.
  template <class Transfer>
  status transfer(Transfer f, std::size_t len, std::size_t& n, const char* what);
  void log_failure(const char* what, const std::string& why, bool refused);

  SSL* ssl_;
  int fd_;
  std::string address_; ///< the peer's, taken at once: a reset loses it
  bool accepted_;
  bool established_ = false;
  bool failed_ = false;
  std::string peer_;
};

/// "HOST:PORT" of the peer connected on `fd`, or "an unknown peer".
std::string peer_address(int fd);

} // namespace troupe::net
