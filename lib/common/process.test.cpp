#include "lib/common/process.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <string>

namespace {

/// Reads what the child wrote to the pipe until it closes it (10 s at most).
std::string read_all(int fd) {
  std::string out;
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, 10000) > 0) {
    char buf[256];
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

} // namespace

TEST_CASE("a spawned child gets its ready pipe as fd 3 and no other descriptor of ours") {
  int ready[2];
  REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
  int wfd = ::dup(ready[1]); // without close-on-exec, as callers pass it
  ::close(ready[1]);
  // A descriptor without close-on-exec, as CAF opens its sockets.
  int leak = ::fcntl(wfd, F_DUPFD, 40);
  REQUIRE(leak >= 40);
  auto script = "echo fd=$TROUPE_READY_FD >&3; "
                "if [ -e /proc/self/fd/" + std::to_string(leak) + " ]; then echo leaked >&3; "
                "else echo clean >&3; fi";
  auto pid = troupe::detail::spawn_process("/bin/sh", {"-c", script},
                                           {"TROUPE_READY_FD=99"}, wfd);
  ::close(wfd);
  ::close(leak);
  auto said = read_all(ready[0]);
  ::close(ready[0]);
  CHECK(troupe::detail::wait_child(pid, 10000) == 0);
  CHECK(said == "fd=3\nclean\n");
}
