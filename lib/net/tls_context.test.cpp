#include "lib/net/tls_context.hpp"

#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

using namespace troupe::net;
using status = tls_session::status;

namespace {

/// Two ends of a non-blocking socket pair.
struct socket_pair {
  int fd[2];
  socket_pair() {
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd) == 0);
  }
  ~socket_pair() {
    ::close(fd[0]);
    ::close(fd[1]);
  }
};

/// Drives both handshakes until each is done or failed (or 5 s pass).
std::pair<status, status> handshake(tls_session& a, tls_session& b) {
  status sa = status::again, sb = status::again;
  for (int i = 0; i < 5000 && (sa == status::again || sb == status::again); ++i) {
    if (sa == status::again)
      sa = a.handshake();
    if (sb == status::again)
      sb = b.handshake();
    ::poll(nullptr, 0, 1);
  }
  return {sa, sb};
}

} // namespace

TEST_CASE("two processes of one cluster complete the handshake and exchange bytes") {
  auto token = cluster_token::generate();
  tls_context server_ctx{issue_credentials(token, "node")};
  tls_context client_ctx{issue_credentials(token, "worker")};
  socket_pair p;
  auto server = server_ctx.open_session(p.fd[0], true);
  auto client = client_ctx.open_session(p.fd[1], false);
  REQUIRE(server);
  REQUIRE(client);
  auto [s, c] = handshake(*server, *client);
  REQUIRE(s == status::ok);
  REQUIRE(c == status::ok);
  CHECK(server->peer().rfind("troupe worker ", 0) == 0);
  CHECK(client->peer().rfind("troupe node ", 0) == 0);
  std::string msg = "hello over TLS";
  std::size_t n = 0;
  REQUIRE(client->write(msg.data(), msg.size(), n) == status::ok);
  CHECK(n == msg.size());
  char buf[64] = {};
  std::size_t got = 0;
  for (int i = 0; i < 1000 && got == 0; ++i) {
    REQUIRE(server->read(buf, sizeof(buf), got) != status::closed);
    ::poll(nullptr, 0, 1);
  }
  CHECK(std::string{buf, got} == msg);
}

TEST_CASE("a process of another cluster is refused, and the refusal says why") {
  tls_context server_ctx{issue_credentials(cluster_token::generate(), "node")};
  tls_context rogue_ctx{issue_credentials(cluster_token::generate(), "driver")};
  socket_pair p;
  auto server = server_ctx.open_session(p.fd[0], true);
  auto rogue = rogue_ctx.open_session(p.fd[1], false);
  REQUIRE(server);
  REQUIRE(rogue);
  auto [s, r] = handshake(*server, *rogue);
  CHECK(s == status::closed);
  CHECK(r == status::closed);
  // Each side checks the other: the first to see the other's certificate
  // refuses it.
  auto why = server->refusal.empty() ? rogue->refusal : server->refusal;
  CHECK(why.find("not signed by this cluster's CA") != std::string::npos);
}

TEST_CASE("bytes that are not TLS end the session, and nothing reaches the reader") {
  tls_context server_ctx{issue_credentials(cluster_token::generate(), "node")};
  socket_pair p;
  auto server = server_ctx.open_session(p.fd[0], true);
  REQUIRE(server);
  std::string frame(52, '\0');
  frame[8] = '\x80';
  REQUIRE(::write(p.fd[1], frame.data(), frame.size()) == 52);
  char buf[64];
  std::size_t n = 1;
  auto s = status::again;
  for (int i = 0; i < 1000 && s == status::again; ++i) {
    s = server->read(buf, sizeof(buf), n);
    ::poll(nullptr, 0, 1);
  }
  CHECK(s == status::closed);
  CHECK(n == 0);
  CHECK_FALSE(server->established());
}
