// A cluster against processes that are not its own: without its token,
// without TLS, with another cluster's certificates, or sending bytes that are
// not troupe's. Each is refused and logged; the node and its workers keep
// serving the cluster's own driver.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <random>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <caf/all.hpp>

#include "lib/core/client.hpp"
#include "lib/protocol/capnp_codec.hpp"
#include "lib/protocol/handles.hpp"
#include "lib/protocol/result_codec.hpp"
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

  /// Every log of the session (the node's and its workers'), one after
  /// another.
  std::string all_logs() const {
    std::string all;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(logs / "session_latest", ec)) {
      std::ifstream in{e.path()};
      std::stringstream text;
      text << in.rdbuf();
      all += text.str();
    }
    return all;
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

namespace {

/// Plays a submitter's core actor in the driver: hears the lease it asks
/// for and the results of the batches it pushes, as a member of the
/// cluster that sends what it should not.
struct member_probe {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<troupe::lease_grant> grant;
  std::string denied;
  std::vector<std::vector<char>> results;

  template <class Pred>
  bool wait(Pred pred) {
    std::unique_lock lock{mutex};
    return changed.wait_for(lock, 30s, [&] { return pred(); });
  }
};

caf::behavior probe_fn(caf::event_based_actor*, std::shared_ptr<member_probe> p) {
  auto note = [p](auto change) {
    std::lock_guard lock{p->mutex};
    change();
    p->changed.notify_all();
  };
  return {
    [=](troupe::granted_atom, const troupe::lease_grant& g) { note([&] { p->grant = g; }); },
    [=](troupe::denied_atom, std::uint64_t, const std::string& why) {
      note([&] { p->denied = why; });
    },
    [=](troupe::done_atom, const std::vector<char>& bytes) {
      note([&] { p->results.push_back(bytes); });
    },
  };
}

/// A TaskBatch of one task of function `fn` with `args`.
std::vector<char> one_task(std::uint64_t id, const std::string& fn,
                           const std::vector<troupe::detail::stored_value>& args) {
  capnp::MallocMessageBuilder b;
  auto task = b.initRoot<troupe::schema::TaskBatch>().initTasks(1)[0];
  task.setTaskId(id);
  task.setFunction(fn);
  task.setName(fn);
  troupe::detail::write_object_id(task.initReturnId(), {999, id});
  auto list = task.initArgs(static_cast<unsigned>(args.size()));
  for (unsigned i = 0; i < args.size(); ++i)
    troupe::detail::write_value(list[i], args[i]);
  return troupe::detail::to_bytes(b);
}

/// Sends `msg` as a request to `target`; returns the error it got back, or
/// "" when it got an answer.
template <class Handle>
std::string rejection(caf::actor_system& sys, const Handle& target, caf::message msg) {
  caf::scoped_actor self{sys};
  std::string why = "no answer";
  self->request(troupe::handle_cast<caf::actor>(target), 10s, std::move(msg))
    .receive([&](caf::message&) { why = ""; },
             [&](caf::error& e) { why = sys.render(e); });
  return why;
}

} // namespace

TEST_CASE("a member's malformed payloads in valid frames (task and result batches, "
          "CAF messages of wrong types, a stored argument nowhere) are refused, and the "
          "node and the worker keep serving") {
  troupe::test::ensure_cluster_token();
  logged_node node;
  troupe::init({.address = node.address()});
  auto& c = troupe::detail::client::get();
  auto& sys = c.system();
  auto probe = std::make_shared<member_probe>();
  auto fake = sys.spawn(probe_fn, probe);

  // A lease, as a submitter gets one: a worker's executor and core.
  troupe::lease_request req;
  req.request_id = std::uint64_t{1} << 40;
  req.exe = c.exe();
  req.resources = {{"CPU", 1.0}};
  req.task_name = "probe";
  req.requester = troupe::handle_cast<troupe::core_actor>(fake);
  caf::anon_send(c.node().scheduler, troupe::lease_atom::value, req);
  REQUIRE_MESSAGE(probe->wait([&] { return probe->grant || !probe->denied.empty(); }),
                  "no lease");
  REQUIRE_MESSAGE(probe->grant, probe->denied);
  auto grant = *probe->grant;

  // To the worker: a batch of bytes that is no batch, a CAF message of
  // types it does not take, and a result batch of garbage to its core.
  std::vector<char> garbage(96, '\x5a');
  caf::send_as(fake, grant.executor, troupe::push_atom::value, garbage);
  CHECK(rejection(sys, grant.executor, caf::make_message(std::string{"run"}, 42)) != "");
  caf::send_as(fake, grant.core, troupe::done_atom::value, garbage);
  CHECK(rejection(sys, grant.core, caf::make_message(troupe::done_atom::value, 7)) != "");
  // Valid batches that ask for what is not there: each task fails with a
  // reason, answered to the sender.
  troupe::detail::stored_value nowhere;
  nowhere.in_store = true;
  nowhere.offset = std::uint64_t{1} << 40;
  nowhere.size = 8;
  nowhere.id = {999, 77};
  caf::send_as(fake, grant.executor, troupe::push_atom::value,
               one_task(1, "no_such_function", {}));
  caf::send_as(fake, grant.executor, troupe::push_atom::value,
               one_task(2, "guarded_triple", {nowhere}));
  REQUIRE(probe->wait([&] { return probe->results.size() >= 2; }));
  std::map<std::uint64_t, troupe::detail::parsed_result> answered;
  for (auto& bytes : probe->results)
    for (auto& r : troupe::detail::parse_results(bytes))
      answered[r.task_id] = r;
  REQUIRE(answered.count(1) == 1);
  REQUIRE(answered.count(2) == 1);
  CHECK(answered[1].error.kind == troupe::error_kind::unknown_function);
  CHECK(answered[2].error.kind == troupe::error_kind::protocol);
  CHECK_MESSAGE(answered[2].error.message.find("outside the store") != std::string::npos,
                answered[2].error.message);

  // To the node: CAF messages of wrong types to each of its actors, and a
  // pull of an object at no place in its store.
  CHECK(rejection(sys, c.node().scheduler, caf::make_message(troupe::lease_atom::value, 1))
        != "");
  CHECK(rejection(sys, c.control_store(), caf::make_message(troupe::nodes_atom::value, "x"))
        != "");
  CHECK(rejection(sys, c.node().store_manager, caf::make_message(troupe::object_id{1, 2}, 2.5))
        != "");
  auto pulled = rejection(sys, c.node().store_manager,
                          caf::make_message(troupe::pull_atom::value,
                                            troupe::pull_request{{999, 78}, c.node().node_id,
                                                                 std::uint64_t{1} << 40}));
  CHECK_MESSAGE(pulled.find("names this node") != std::string::npos, pulled);

  caf::anon_send(c.node().scheduler, troupe::return_atom::value, grant.worker_id);
  caf::anon_send_exit(fake, caf::exit_reason::user_shutdown);
  CHECK(troupe::test::alive(node.process->pid()));
  CHECK(troupe::test::alive(grant.pid));
  CHECK(troupe::get(troupe::task(guarded_triple).remote(9), 30s) == 27);
  troupe::shutdown();
  auto logs = node.all_logs();
  CHECK(logs.find("dropped a malformed task batch") != std::string::npos);
  CHECK(logs.find("dropped a result batch") != std::string::npos);
}
