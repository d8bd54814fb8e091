#include "lib/net/tls_context.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

namespace troupe::net {

namespace {

/// What an OpenSSL error at the handshake means for a troupe cluster.
std::string explain(unsigned long e) {
  switch (ERR_GET_REASON(e)) {
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
      ERR_clear_error();
      return "it does not trust this process's certificate (is it given another "
             "cluster's token?)";
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_UNSUPPORTED_PROTOCOL:
      ERR_clear_error();
      return "it does not speak TLS 1.3 (a process run with --insecure, or not troupe)";
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      ERR_clear_error();
      return "it presented no certificate";
    default:
      return openssl_errors();
  }
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("TLS: " + what + ": " + openssl_errors());
}

// A socket BIO that sends with MSG_NOSIGNAL: a peer that vanished mid-write
// must cost an error, not the process (OpenSSL's own BIO raises SIGPIPE).
int fd_of(BIO* b) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b)));
}

int bio_write(BIO* b, const char* buf, int len) {
  BIO_clear_retry_flags(b);
  auto n = ::send(fd_of(b), buf, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_write(b);
  return static_cast<int>(n);
}

int bio_read(BIO* b, char* buf, int len) {
  BIO_clear_retry_flags(b);
  auto n = ::recv(fd_of(b), buf, static_cast<std::size_t>(len), 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_read(b);
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    auto* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "troupe socket");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

/// The peer's identity, checked once OpenSSL has checked its chain: the
/// leaf must name this cluster and a troupe role.
int verify_peer(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(
    X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* session = static_cast<tls_session*>(SSL_get_app_data(ssl));
  auto* ctx = static_cast<tls_context*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  auto refuse = [&](std::string why) {
    if (session && session->refusal.empty())
      session->refusal = std::move(why);
    return 0;
  };
  if (!preverify_ok)
    return refuse(std::string{"its certificate is not signed by this cluster's CA ("}
                  + X509_verify_cert_error_string(X509_STORE_CTX_get_error(store))
                  + ")");
  if (X509_STORE_CTX_get_error_depth(store) != 0)
    return 1;
  auto* leaf = X509_STORE_CTX_get_current_cert(store);
  auto org = subject_field(leaf, NID_organizationName);
  if (org != ctx->cluster_id())
    return refuse("its certificate names cluster '" + org + "', not '" + ctx->cluster_id()
                  + "'");
  if (subject_field(leaf, NID_commonName).rfind("troupe ", 0) != 0)
    return refuse("its certificate names no troupe role");
  return 1;
}

} // namespace

std::string peer_address(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return "an unknown peer";
  char host[INET6_ADDRSTRLEN] = {};
  std::uint16_t port = 0;
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
  } else {
    return "an unknown peer";
  }
  return std::string{host} + ":" + std::to_string(port);
}

tls_context::tls_context(const credentials& creds) : cluster_id_(creds.cluster_id) {
  ctx_ = SSL_CTX_new(TLS_method());
  if (!ctx_)
    fail("cannot create a context");
  SSL_CTX_set_app_data(ctx_, this);
  // Both ends are troupe: the newest protocol only, no tickets (sessions are
  // long-lived), and AES-GCM first (hardware-accelerated on x86-64 and ARM).
  if (SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION) != 1
      || SSL_CTX_set_ciphersuites(
           ctx_, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256")
           != 1)
    fail("cannot restrict the protocol to TLS 1.3");
  SSL_CTX_set_num_tickets(ctx_, 0);
  // No read-ahead: with it, a handshake finished in a write could take the
  // peer's first records into the session, where no socket event announces
  // them (seen: direct connections that timed out in their BASP handshake).
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  // Every peer has the CA: the leaf alone goes on the wire.
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                           | SSL_MODE_NO_AUTO_CHAIN);
  if (SSL_CTX_use_certificate(ctx_, creds.cert.get()) != 1
      || SSL_CTX_use_PrivateKey(ctx_, creds.key.get()) != 1
      || SSL_CTX_check_private_key(ctx_) != 1)
    fail("cannot use this process's certificate");
  if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), creds.ca.get()) != 1)
    fail("cannot trust the cluster's CA");
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_peer);
  SSL_CTX_set_verify_depth(ctx_, 1);
}

tls_context::~tls_context() {
  SSL_CTX_free(ctx_);
}

std::unique_ptr<tls_session> tls_context::open_session(int fd, bool accepted) {
  auto* ssl = SSL_new(ctx_);
  if (!ssl) {
    spdlog::error("TLS: cannot create a session: {}", openssl_errors());
    return nullptr;
  }
  auto* bio = BIO_new(socket_method());
  if (!bio) {
    SSL_free(ssl);
    spdlog::error("TLS: cannot create a socket BIO: {}", openssl_errors());
    return nullptr;
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  SSL_set_bio(ssl, bio, bio);
  auto session = std::make_unique<tls_session>(ssl, fd, accepted);
  if (session->handshake() == tls_session::status::closed)
    return nullptr;
  return session;
}

tls_session::tls_session(SSL* ssl, int fd, bool accepted)
  : ssl_(ssl), fd_(fd), address_(peer_address(fd)), accepted_(accepted) {
  SSL_set_app_data(ssl_, this);
  if (accepted)
    SSL_set_accept_state(ssl_);
  else
    SSL_set_connect_state(ssl_);
}

tls_session::~tls_session() {
  SSL_free(ssl_);
}

void tls_session::log_failure(const char* what, const std::string& why, bool refused) {
  if (failed_)
    return;
  failed_ = true;
  if (!established_ && accepted_ && refused)
    spdlog::warn("refused a connection from {}: {}", address_, why);
  else if (!established_ && accepted_)
    spdlog::info("a connection from {} ended in its TLS handshake: {}", address_, why);
  else if (!established_)
    spdlog::warn("the TLS handshake with {} failed: {}", address_, why);
  else
    spdlog::debug("TLS {} with {} failed: {}", what, address_, why);
}

tls_session::status tls_session::result_of(int ret, const char* what) {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return status::again;
    case SSL_ERROR_ZERO_RETURN:
      return status::closed;
    case SSL_ERROR_SYSCALL: {
      auto err = errno;
      ERR_clear_error();
      if (!established_)
        log_failure(what,
                    ret == 0 || err == 0 ? "the peer closed the connection"
                                         : std::strerror(err),
                    false);
      return status::closed;
    }
    default: {
      auto why = !refusal.empty() ? refusal : explain(ERR_peek_error());
      ERR_clear_error();
      log_failure(what, why.empty() ? "protocol error" : why, true);
      return status::closed;
    }
  }
}

tls_session::status tls_session::handshake() {
  if (established_)
    return status::ok;
  auto ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    established_ = true;
    if (auto* cert = SSL_get0_peer_certificate(ssl_))
      peer_ = subject_field(cert, NID_commonName);
    return status::ok;
  }
  return result_of(ret, "handshake");
}

tls_session::status tls_session::finish_handshake(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto s = handshake();
    if (s != status::again)
      return s;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      log_failure("handshake", "no handshake within " + std::to_string(timeout.count()) + " ms",
                  false);
      return status::again;
    }
    pollfd p{fd_, static_cast<short>(SSL_want_write(ssl_) ? POLLOUT : POLLIN), 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
      return status::closed;
  }
}

template <class Transfer>
tls_session::status tls_session::transfer(Transfer f, std::size_t len, std::size_t& n,
                                          const char* what) {
  n = 0;
  if (!established_) {
    auto s = handshake();
    if (s != status::ok)
      return s;
  }
  if (len == 0)
    return status::ok;
  if (f(ssl_, &n) == 1)
    return status::ok;
  return result_of(0, what);
}

tls_session::status tls_session::read(void* buf, std::size_t len, std::size_t& n) {
  return transfer([&](SSL* s, std::size_t* got) { return SSL_read_ex(s, buf, len, got); },
                  len, n, "read");
}

tls_session::status tls_session::write(const void* buf, std::size_t len, std::size_t& n) {
  return transfer(
    [&](SSL* s, std::size_t* put) { return SSL_write_ex(s, buf, len, put); }, len, n,
    "write");
}

std::size_t tls_session::pending() const {
  return static_cast<std::size_t>(SSL_pending(ssl_));
}

} // namespace troupe::net
