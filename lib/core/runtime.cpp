// The public entry points: init, shutdown, serve_if_spawned, and the detail
// functions behind get/wait/put/remote.

#include "troupe/runtime.hpp"

#include <fcntl.h>
#include <mutex>
#include <poll.h>
#include <signal.h>
#include <sstream>
#include <unistd.h>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/node_daemon.hpp"
#include "lib/common/ask.hpp"
#include "lib/core/client.hpp"
#include "lib/common/config.hpp"
#include "lib/core/executor.hpp"
#include "lib/core/worker_output.hpp"
#include "lib/common/process.hpp"
#include "lib/net/security.hpp"
#include "troupe/get.hpp"

namespace troupe {

namespace {

using namespace detail;

std::mutex init_mtx;
/// Not a static object: a program that exits without `shutdown` gets it from
/// atexit, before CAF's own statics go, instead of from static destruction.
client* driver_client = nullptr;
int embedded_node_pid = -1;

std::string format_resources(const std::map<std::string, double>& rs) {
  std::ostringstream out;
  for (auto& [k, v] : rs)
    out << k << '=' << v << ',';
  return out.str();
}

/// Starts a node daemon from this very executable and returns its port.
std::uint16_t start_embedded_node(const init_options& o) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw error(error_kind::runtime, "cannot create a pipe to the node daemon");
  int wfd = ::dup(fds[1]); // without O_CLOEXEC: the child writes its port here
  ::close(fds[1]);
  std::vector<std::string> env{
    "TROUPE_ROLE=node",
    "TROUPE_PARENT_PID=" + std::to_string(::getpid()),
    "TROUPE_NUM_CPUS=" + std::to_string(o.num_cpus),
    "TROUPE_NUM_GPUS=" + std::to_string(o.num_gpus),
    "TROUPE_RESOURCES=" + format_resources(o.resources),
    "TROUPE_OBJECT_STORE_BYTES=" + std::to_string(o.object_store_memory),
    "TROUPE_MAX_JOB_STORE_BYTES=" + std::to_string(o.max_job_store_bytes),
    "TROUPE_SPILL_DIR=" + o.spill_dir,
    "TROUPE_ACTOR_HOSTS=" + env_or("TROUPE_ACTOR_HOSTS", std::to_string(o.actor_hosts)),
    "TROUPE_MAX_ACTORS_PER_HOST="
      + env_or("TROUPE_MAX_ACTORS_PER_HOST", std::to_string(o.max_actors_per_host)),
    "TROUPE_METRICS_PORT=" + std::to_string(o.metrics_port),
    "TROUPE_METRICS_BIND=127.0.0.1",
    "TROUPE_DASHBOARD_PORT=" + std::to_string(o.dashboard_port),
    "TROUPE_DASHBOARD_BIND=127.0.0.1",
    "TROUPE_WORKER_EXE=" + self_exe(),
  };
  try {
    embedded_node_pid = spawn_process(self_exe(), {"--troupe-node"}, env, wfd);
  } catch (...) {
    ::close(wfd);
    ::close(fds[0]);
    throw;
  }
  ::close(wfd);
  std::string line;
  pollfd p{fds[0], POLLIN, 0};
  while (line.find('\n') == std::string::npos) {
    if (::poll(&p, 1, 20000) <= 0)
      break;
    char buf[64];
    auto n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0)
      break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  if (line.find('\n') == std::string::npos) {
    auto status = wait_child(embedded_node_pid, 2000);
    if (status < 0)
      ::kill(embedded_node_pid, SIGKILL), status = wait_child(embedded_node_pid, 2000);
    embedded_node_pid = -1;
    throw error(error_kind::runtime, "the embedded node daemon did not start: "
                                       + (status >= 0 ? describe_exit(status)
                                                      : std::string{"no answer"}));
  }
  return static_cast<std::uint16_t>(std::stoi(line));
}

void stop_embedded_node() {
  if (embedded_node_pid <= 0)
    return;
  if (wait_child(embedded_node_pid, 3000) < 0) {
    ::kill(embedded_node_pid, SIGKILL);
    wait_child(embedded_node_pid, 2000);
  }
  embedded_node_pid = -1;
}

/// For a program that exits without `shutdown`: the embedded node stops on
/// SIGTERM (with its workers and store segment). The actor system is left to
/// the OS: CAF cannot be torn down from an exit handler, because the main
/// thread's thread-locals, which it uses, are gone by then.
void exit_without_shutdown() {
  if (!driver_client)
    return;
  driver_client->closing = true;
  set_client(nullptr);
  if (embedded_node_pid > 0) {
    ::kill(embedded_node_pid, SIGTERM);
    stop_embedded_node();
  }
}

/// Sends each job's share of this worker's output to the job's driver, as
/// the control store names it (cached: none when it takes no output).
output_sender output_to_drivers(client& c) {
  return [&c, drivers = std::map<std::uint64_t, core_actor>{}](
           std::uint64_t job, std::vector<log_line> lines) mutable {
    auto it = drivers.find(job);
    if (it == drivers.end()) {
      auto driver = try_ask<core_actor>(c.system(), c.control_store(),
                                        std::chrono::seconds(5), log_atom::value, job);
      if (!driver)
        return; // asked again with the next lines
      it = drivers.emplace(job, *driver).first;
    }
    if (it->second)
      caf::anon_send(it->second, log_atom::value,
                     log_batch{c.node().node_id, static_cast<std::int32_t>(::getpid()),
                               std::move(lines)});
  };
}

[[noreturn]] void run_worker() {
  auto stem = "worker-" + env_or("TROUPE_WORKER_ID", "0") + "-" + std::to_string(::getpid());
  init_logging("worker", env_or("TROUPE_LOG_LEVEL", "warn"), stem + ".log");
  auto addr = env_or("TROUPE_NODE", "127.0.0.1:0");
  auto colon = addr.rfind(':');
  try {
    auto* c = new client(process_role::worker, addr.substr(0, colon),
                         static_cast<std::uint16_t>(std::stoi(addr.substr(colon + 1))));
    c->worker_id = std::stoull(env_or("TROUPE_WORKER_ID", "0"));
    set_client(c);
    spdlog::info("worker {} connected to its node at {}", c->worker_id, addr);
    start_worker_output(env_or("TROUPE_SESSION_DIR", ""), stem, output_to_drivers(*c));
    auto exec = spawn_executor(c->system(), *c);
    caf::anon_send(c->node().scheduler, register_atom::value,
                   worker_hello{c->worker_id, static_cast<std::int32_t>(::getpid()), exec,
                                c->core(), c->address()});
  } catch (const std::exception& e) {
    spdlog::error("worker could not start: {}", e.what());
    std::_Exit(3);
  }
  // The core actor ends the process when the node goes away.
  for (;;)
    ::pause();
}

} // namespace

void serve_if_spawned() {
  auto role = env_or("TROUPE_ROLE", "");
  if (role.empty())
    return;
  ::unsetenv("TROUPE_ROLE"); // the user's own child processes are not ours
  if (role == "node")
    std::exit(detail::run_node_daemon());
  if (role == "worker")
    run_worker();
}

void init(const init_options& options) {
  serve_if_spawned();
  std::lock_guard guard{init_mtx};
  if (driver_client)
    throw error(error_kind::runtime, "troupe::init was called twice without shutdown");
  static bool logging = (init_logging("driver", options.log_level), true);
  (void) logging;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  auto address = options.address.empty() ? env_or("TROUPE_ADDRESS", "") : options.address;
  try {
    // Before the embedded node starts: it inherits the token.
    net::settle_security(options.token, options.insecure, address.empty());
  } catch (const std::exception& e) {
    throw error(error_kind::runtime, e.what());
  }
  if (address.empty()) {
    port = start_embedded_node(options);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos)
      throw error(error_kind::runtime, "address '" + address + "' is not HOST:PORT");
    host = address.substr(0, colon);
    try {
      port = static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)));
    } catch (const std::exception&) {
      throw error(error_kind::runtime, "address '" + address + "' has no valid port");
    }
  }
  try {
    driver_client = new client(process_role::driver, host, port, embedded_node_pid > 0,
                               options.log_to_driver);
  } catch (...) {
    if (embedded_node_pid > 0) {
      ::kill(embedded_node_pid, SIGTERM);
      stop_embedded_node();
    }
    throw;
  }
  set_client(driver_client);
  static bool at_exit = (std::atexit(exit_without_shutdown), true);
  (void) at_exit;
}

void shutdown() {
  std::lock_guard guard{init_mtx};
  if (!driver_client)
    return;
  set_client(nullptr);
  driver_client->closing = true;
  if (embedded_node_pid > 0) {
    // The node stops whether or not its answer arrives.
    (void) detail::try_ask<bool>(driver_client->system(), driver_client->control_store(),
                                 std::chrono::seconds(5), stop_atom::value);
  }
  driver_client->close();
  delete driver_client;
  driver_client = nullptr;
  stop_embedded_node();
}

bool is_initialized() noexcept {
  return client::try_get() != nullptr;
}

namespace detail {

caf::actor_system* serialization_system() noexcept {
  auto* c = client::try_get();
  return c ? &c->system() : nullptr;
}

raw_value get_raw(const ref_ptr& ref, deadline until) {
  return client::get().get(ref, until);
}

std::vector<raw_value> get_many_raw(const std::vector<ref_ptr>& refs, deadline until) {
  return client::get().get_many(refs, until);
}

void wait_raw(const std::vector<ref_ptr>& refs, std::size_t num_returns,
              deadline until, std::vector<bool>& ready) {
  client::get().wait(refs, num_returns, until, ready);
}

ref_ptr put_raw(encoded_value&& value, bool in_store) {
  return client::get().put(std::move(value), in_store);
}

object_id ref_id(const ref_handle& h) noexcept {
  return h.id();
}

std::vector<ref_ptr>*& nested_ref_sink() noexcept {
  thread_local std::vector<ref_ptr>* sink = nullptr;
  return sink;
}

void ref_escaped(const ref_ptr& h) {
  if (auto* sink = nested_ref_sink()) {
    sink->push_back(h);
    return;
  }
  if (auto t = h->table())
    t->mark_escaped(h->id());
}

ref_ptr ref_from_wire(const object_id& id) {
  return client::get().table().from_wire(id, nullptr);
}

} // namespace detail

} // namespace troupe
