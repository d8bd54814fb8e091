// A cluster against processes that are not its own: without its token,
// without TLS, with another cluster's certificates, or sending bytes that are
// not troupe's. Each is refused and logged; the node and its workers keep
// serving the cluster's own driver.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <random>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "lib/core/client.hpp"
#include "lib/net/blocking_stream.hpp"
#include "lib/net/tls_context.hpp"
#include "tests/process_helpers.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;

namespace {

int guarded_triple(int x) { return 3 * x; }
TROUPE_REMOTE(guarded_triple);

/// The worker's own port for direct connections, and its pid.
std::pair<int, int> worker_port_and_pid() {
  return {troupe::detail::client::get().address().port, static_cast<int>(::getpid())};
}
TROUPE_REMOTE(worker_port_and_pid);

/// A node daemon that logs into a folder of the test's.
struct logged_node {
  std::filesystem::path logs;
  std::unique_ptr<child_process> process;
  std::string port;

  explicit logged_node(std::vector<std::string> extra = {}) {
    char dir[] = "/tmp/troupe-security-test-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    logs = dir;
    std::vector<std::string> env{"TROUPE_ROLE=node", "TROUPE_NUM_CPUS=2",
                                 "TROUPE_OBJECT_STORE_BYTES=" + std::to_string(64 << 20),
                                 "TROUPE_LOG_DIR=" + logs.string()};
    env.insert(env.end(), extra.begin(), extra.end());
    process = std::make_unique<child_process>(env);
    port = process->ready_line();
    REQUIRE_MESSAGE(!port.empty(), "the node daemon did not start");
  }
  ~logged_node() {
    process.reset();
    std::error_code ec;
    std::filesystem::remove_all(logs, ec);
  }

  std::string address() const { return "127.0.0.1:" + port; }

  std::string log() const {
    std::ifstream in{logs / "session_latest" / "node.log"};
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

/// Runs the test executable as a driver with `env`; returns what it said.
std::string try_driver(const std::string& address, std::vector<std::string> env) {
  env.push_back("TROUPE_TEST_SCENARIO=try_driver");
  env.push_back("TROUPE_ADDRESS=" + address);
  child_process driver{env};
  return driver.ready_line(60s);
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

/// Writes `bytes` on a new connection to `port`, then waits (5 s at most)
/// for the peer to close it.
bool closed_after(int port, const std::string& bytes) {
  int fd = connect_to(port);
  (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) {
  }
  ::close(fd);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

/// The frame that killed a node: a server handshake of no payload.
std::string crash_frame() {
  std::string f(52, '\0');
  f[8] = '\x80';
  return f;
}

/// Sends what is not troupe to `port`: the crash frame, random bytes, 64 KiB
/// of zeros, and 200 connections held open at once. Returns how many of the
/// first three were closed by the peer.
int attack(int port, std::uint32_t seed) {
  std::mt19937 rng{seed};
  std::string noise(4096, '\0');
  for (auto& c : noise)
    c = static_cast<char>(rng());
  int closed = closed_after(port, crash_frame()) + closed_after(port, noise)
               + closed_after(port, std::string(64 * 1024, '\0'));
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i)
    idle.push_back(connect_to(port));
  for (auto fd : idle)
    ::close(fd);
  return closed;
}

std::uint32_t seed() {
  auto s = std::random_device{}();
  MESSAGE("seed " << s);
  return s;
}

} // namespace

TEST_CASE("without the cluster's token, without TLS or with a forged certificate a process "
          "reaches nothing; the node logs each refusal and keeps serving its driver") {
  troupe::test::ensure_cluster_token();
  logged_node node;
  troupe::init({.address = node.address()});
  CHECK(troupe::get(troupe::task(guarded_triple).remote(5), 30s) == 15);
  auto [worker_port, worker_pid] = troupe::get(troupe::task(worker_port_and_pid).remote(), 30s);
  REQUIRE(worker_port > 0);

  // Another cluster's token: its certificate is not signed by this CA.
  auto other = troupe::net::cluster_token::generate();
  auto said = try_driver(node.address(), {"TROUPE_TOKEN=" + other.text()});
  CHECK_MESSAGE(said.rfind("refused: ", 0) == 0, said);
  // No TLS at all: the node waits for a TLS handshake that never comes.
  said = try_driver(node.address(), {"TROUPE_TOKEN=", "TROUPE_INSECURE=1",
                                     "TROUPE_CONNECT_TIMEOUT_MS=3000"});
  CHECK_MESSAGE(said.rfind("refused: ", 0) == 0, said);
  // A certificate that trusts this cluster's CA and names this cluster, but
  // is signed by another: the node refuses it, whatever it claims.
  auto forged = troupe::net::issue_credentials(other, "driver");
  auto real_ca = troupe::net::derive_authority(
    troupe::net::cluster_token::parse(std::getenv("TROUPE_TOKEN")));
  forged.ca = std::move(real_ca.cert);
  forged.cluster_id = real_ca.cluster_id;
  auto ctx = std::make_shared<troupe::net::tls_context>(forged);
  for (int port : {std::stoi(node.port), worker_port}) {
    int fd = connect_to(port);
    std::string why;
    auto stream = troupe::net::blocking_stream::open(fd, ctx, false, why);
    char byte = 0;
    // TLS 1.3: the client may finish its side before the server refuses.
    CHECK((stream.fd() < 0 || stream.read_fully(&byte, 1) == 0));
    ::close(fd);
  }
  // Bytes that are not TLS, to the node and to a worker.
  auto s = seed();
  CHECK(attack(std::stoi(node.port), s) == 3);
  CHECK(attack(worker_port, s) == 3);

  CHECK(troupe::test::alive(node.process->pid()));
  CHECK(troupe::get(troupe::task(guarded_triple).remote(7), 30s) == 21);
  auto again = troupe::get(troupe::task(worker_port_and_pid).remote(), 30s);
  CHECK(troupe::test::alive(worker_pid));
  (void)again;
  troupe::shutdown();
  auto log = node.log();
  CHECK(log.find("refused a connection from 127.0.0.1:") != std::string::npos);
  CHECK(log.find("not signed by this cluster's CA") != std::string::npos);
  CHECK(log.find("does not speak TLS") != std::string::npos);
  CHECK(log.find(std::getenv("TROUPE_TOKEN")) == std::string::npos); // never logged
}

TEST_CASE("--insecure: frames CAF must not see are dropped before its parser, and the node "
          "lives on") {
  logged_node node{{"TROUPE_INSECURE=1"}};
  auto s = seed();
  CHECK(attack(std::stoi(node.port), s) == 3);
  CHECK(troupe::test::alive(node.process->pid()));
  auto said = try_driver(node.address(), {"TROUPE_INSECURE=1", "TROUPE_TOKEN="});
  CHECK_MESSAGE(said == "connected 15", said);
  auto log = node.log();
  CHECK(log.find("running without TLS") != std::string::npos);
  CHECK(log.find("its first frame is a server handshake, not a client handshake")
        != std::string::npos);
}
