#include "lib/common/process.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
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

TEST_CASE("spawn_child: output into a file, its own folder and process group, "
          "the environment it asks for, no signal blocked") {
  char path[] = "/tmp/troupe-spawn-child-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::setenv("TROUPE_SPAWN_TEST_DROPPED", "x", 1);
  ::setenv("TROUPE_SPAWN_TEST_KEPT", "kept", 1);
  // Blocked here, as a node daemon blocks it: the child must not inherit that.
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &term, &old);
  troupe::detail::child_spec spec;
  spec.exe = "/bin/sh";
  spec.args = {"-c", "echo out; echo err >&2; pwd; "
                     "echo \"${TROUPE_SPAWN_TEST_DROPPED:-dropped} $TROUPE_SPAWN_TEST_KEPT $SET\"; "
                     "echo pgid=$(cut -d' ' -f5 /proc/$$/stat) pid=$$; "
                     "grep SigBlk /proc/self/status; read line; echo stdin=${line:-empty}"};
  spec.env = {"SET=set"};
  spec.drop = {"TROUPE_SPAWN_TEST_*"};
  spec.keep = {"TROUPE_SPAWN_TEST_KEPT"};
  spec.output_fd = fd;
  spec.cwd = "/usr";
  spec.own_group = true;
  auto pid = troupe::detail::spawn_child(spec);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(fd);
  CHECK(troupe::detail::wait_child(pid, 10000) == 0);
  std::string text;
  {
    int in = ::open(path, O_RDONLY);
    REQUIRE(in >= 0);
    char buf[1024];
    ssize_t n = 0;
    while ((n = ::read(in, buf, sizeof buf)) > 0)
      text.append(buf, static_cast<std::size_t>(n));
    ::close(in);
  }
  ::unlink(path);
  ::unsetenv("TROUPE_SPAWN_TEST_DROPPED");
  ::unsetenv("TROUPE_SPAWN_TEST_KEPT");
  INFO(text);
  CHECK(text.find("out\nerr\n/usr\n") == 0);
  CHECK(text.find("dropped kept set\n") != std::string::npos);
  auto id = std::to_string(pid);
  CHECK(text.find("pgid=" + id + " pid=" + id + "\n") != std::string::npos);
  // SigBlk (a hex mask) all zeros: SIGTERM is not blocked in the child.
  CHECK(text.find("SigBlk:\t0000000000000000\n") != std::string::npos);
  CHECK(text.find("stdin=empty\n") != std::string::npos);
}

TEST_CASE("spawn_child names a program that cannot start") {
  troupe::detail::child_spec spec;
  spec.exe = "/nonexistent/program";
  CHECK_THROWS_WITH(troupe::detail::spawn_child(spec),
                    doctest::Contains("cannot start /nonexistent/program"));
}
