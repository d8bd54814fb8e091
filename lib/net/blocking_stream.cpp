#include "lib/net/blocking_stream.hpp"

#include <algorithm>
#include <cerrno>
#include <sys/socket.h>

#include "lib/net/tls_context.hpp"

namespace troupe::net {

namespace {

// Pieces of 1 MiB: one write of 400 MB moved 1.3-1.7 GB/s on loopback,
// writes of 1 MiB 2.4-3.4 GB/s.
constexpr std::size_t piece = 1u << 20;

} // namespace

blocking_stream::blocking_stream(int fd, std::unique_ptr<tls_session> tls)
  : fd_(fd), tls_(std::move(tls)) {}

blocking_stream::blocking_stream(blocking_stream&&) noexcept = default;
blocking_stream& blocking_stream::operator=(blocking_stream&&) noexcept = default;
blocking_stream::~blocking_stream() = default;

blocking_stream blocking_stream::open(int fd, const std::shared_ptr<tls_context>& ctx,
                                      bool accepted, std::string& error) {
  if (!ctx)
    return blocking_stream{fd, nullptr};
  auto session = ctx->open_session(fd, accepted);
  if (!session || session->handshake() != tls_session::status::ok) {
    error = "the TLS handshake with " + peer_address(fd) + " failed"
            + (session && !session->refusal.empty() ? ": " + session->refusal : "");
    return {};
  }
  return blocking_stream{fd, std::move(session)};
}

std::size_t blocking_stream::read_fully(void* p, std::size_t n) {
  auto* at = static_cast<char*>(p);
  std::size_t got = 0;
  while (got < n) {
    std::size_t r = 0;
    if (tls_) {
      auto s = tls_->read(at + got, std::min(n - got, piece), r);
      if (s == tls_session::status::again) { // SO_RCVTIMEO ran out
        errno = EAGAIN;
        break;
      }
      if (s == tls_session::status::closed) {
        errno = 0;
        break;
      }
    } else {
      auto k = ::recv(fd_, at + got, std::min(n - got, piece), 0);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0) {
        if (k == 0)
          errno = 0;
        break;
      }
      r = static_cast<std::size_t>(k);
    }
    got += r;
  }
  return got;
}

bool blocking_stream::write_fully(const void* p, std::size_t n) {
  auto* at = static_cast<const char*>(p);
  while (n > 0) {
    std::size_t w = 0;
    if (tls_) {
      auto s = tls_->write(at, std::min(n, piece), w);
      if (s == tls_session::status::again)
        errno = EAGAIN;
      if (s != tls_session::status::ok)
        return false;
    } else {
      auto k = ::send(fd_, at, std::min(n, piece), MSG_NOSIGNAL);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        return false;
      w = static_cast<std::size_t>(k);
    }
    at += w;
    n -= w;
  }
  return true;
}

} // namespace troupe::net
