#include "lib/common/port_users.hpp"

#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

/// A socket on an OS-chosen loopback port; listening when `listen` is set.
struct bound_socket {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  std::uint16_t port = 0;
  explicit bound_socket(bool listen) {
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    if (listen)
      REQUIRE(::listen(fd, 4) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~bound_socket() { ::close(fd); }
};

} // namespace

TEST_CASE("port_users names the listener and the connections on a port") {
  bound_socket server{true};
  CHECK(troupe::detail::port_users(server.port) == "a listening socket");
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(server.port);
  REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  int accepted = ::accept(server.fd, nullptr, nullptr);
  REQUIRE(accepted >= 0);
  auto users = troupe::detail::port_users(server.port);
  INFO(users);
  CHECK(users.find("a listening socket") != std::string::npos);
  CHECK(users.find("a connection to 127.0.0.1:") != std::string::npos);
  CHECK(users.find("(ESTABLISHED)") != std::string::npos);
  ::close(accepted);
  ::close(client);
}

TEST_CASE("port_users is empty for a port nobody holds") {
  std::uint16_t port = 0;
  {
    bound_socket gone{false}; // bound, never listening: not in /proc/net/tcp as LISTEN
    port = gone.port;
  }
  CHECK(troupe::detail::port_users(port).empty());
}
