#include "actors/node_daemon.hpp"

#include <atomic>
#include <cerrno>
#include <random>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/control_store.hpp"
#include "scheduler/cluster_scheduler.hpp"
#include "lib/common/config.hpp"
#include "scheduler/local_scheduler.hpp"
#include "scheduler/resources.hpp"
#include "store/store_manager.hpp"

namespace troupe {

namespace {

std::size_t default_store_bytes() {
  auto pages = ::sysconf(_SC_PHYS_PAGES);
  auto page = ::sysconf(_SC_PAGESIZE);
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / 10 * 3;
}

/// Reaps children (workers) and reports each exit to the scheduler.
/// Polls rather than blocks, so that stopping never waits for a child.
void reap_children(std::atomic<bool>& stop, local_scheduler_actor sched) {
  while (!stop) {
    int status = 0;
    auto pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0)
      caf::anon_send(sched, child_atom::value, static_cast<std::int32_t>(pid),
                     static_cast<std::int32_t>(status));
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

} // namespace

std::string advertised_host(const std::string& bind) {
  if (bind != "0.0.0.0")
    return bind;
  std::string found = "127.0.0.1";
  ifaddrs* all = nullptr;
  if (::getifaddrs(&all) != 0)
    return found;
  for (auto* a = all; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || (a->ifa_flags & IFF_LOOPBACK)
        || !(a->ifa_flags & IFF_UP))
      continue;
    char text[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text))) {
      found = text;
      break;
    }
  }
  ::freeifaddrs(all);
  return found;
}

node_options node_options_from_env() {
  using detail::env_or;
  node_options o;
  o.bind = env_or("TROUPE_BIND", "127.0.0.1");
  o.port = static_cast<std::uint16_t>(std::stoi(env_or("TROUPE_PORT", "0")));
  o.resources = sched::parse_resources(env_or("TROUPE_RESOURCES", ""));
  auto cpus = std::stod(env_or("TROUPE_NUM_CPUS", "0"));
  auto gpus = std::stod(env_or("TROUPE_NUM_GPUS", "0"));
  if (cpus > 0)
    o.resources["CPU"] = cpus;
  if (gpus > 0)
    o.resources["GPU"] = gpus;
  o.object_store_bytes = std::stoull(env_or("TROUPE_OBJECT_STORE_BYTES", "0"));
  o.worker_exe = env_or("TROUPE_WORKER_EXE", "");
  o.ready_fd = std::stoi(env_or("TROUPE_READY_FD", "-1"));
  o.head_address = env_or("TROUPE_HEAD_ADDRESS", "");
  return o;
}

int run_node(const node_options& in) {
  auto session = detail::start_log_session();
  detail::init_logging("node", "warn", "node.log");
  if (!session.empty())
    spdlog::info("cluster session logs in {}", session);
  auto opts = in;
  if (opts.resources.count("CPU") == 0)
    opts.resources["CPU"] = std::max(1u, std::thread::hardware_concurrency());
  if (opts.object_store_bytes == 0)
    opts.object_store_bytes = default_store_bytes();
  if (opts.resources.count("memory") == 0) {
    // What tasks may ask for: the RAM the object store leaves (as in Ray).
    auto ram = static_cast<double>(::sysconf(_SC_PHYS_PAGES))
               * static_cast<double>(::sysconf(_SC_PAGESIZE));
    opts.resources["memory"] = std::max(0.0, ram - static_cast<double>(opts.object_store_bytes));
  }
  if (opts.pool_size == 0)
    opts.pool_size = static_cast<std::size_t>(std::max(1.0, opts.resources["CPU"]));
  // Signals are taken by a thread of ours; CAF's threads inherit the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  store::remove_stale_segments();
  std::random_device rd;
  auto segment_name = "troupe-" + std::to_string(::getpid()) + "-"
                      + std::to_string(rd() % 1000000);
  std::shared_ptr<store::shm_allocator> segment;
  try {
    segment = store::shm_allocator::create(segment_name, opts.object_store_bytes);
  } catch (const std::exception& e) {
    spdlog::error("cannot create the object store ({} bytes): {}",
                  opts.object_store_bytes, e.what());
    return 2;
  }
  auto cfg = detail::make_system_config();
  caf::actor_system sys{*cfg};
  // A member node reaches the head first: without it there is no cluster.
  control_store_actor head;
  if (!opts.head_address.empty()) {
    auto colon = opts.head_address.rfind(':');
    auto head_host = opts.head_address.substr(0, colon);
    auto head_port = colon == std::string::npos
                       ? 0
                       : std::atoi(opts.head_address.c_str() + colon + 1);
    auto h = sys.middleman().remote_actor<control_store_actor>(
      head_host, static_cast<std::uint16_t>(head_port));
    if (!h) {
      spdlog::error("cannot reach the head node at {}: {}", opts.head_address,
                    sys.render(h.error()));
      store::shm_allocator::remove(segment_name);
      return 2;
    }
    head = *h;
  }
  auto manager = store::spawn_store_manager(sys, segment);
  auto sched = sched::spawn_local_scheduler(
    sys, {opts.resources, opts.worker_exe, opts.pool_size, 64});
  node_info info;
  info.host = advertised_host(opts.bind);
  info.scheduler = sched;
  info.store_manager = manager;
  info.segment = segment_name;
  info.store_capacity = opts.object_store_bytes;
  info.total = opts.resources;
  cluster_scheduler_actor cluster;
  if (!head) {
    cluster = sched::spawn_cluster_scheduler(sys);
    info.cluster = cluster;
    info.node_id = 1;
  }
  auto cs = spawn_control_store(sys, info, head);
  auto stop_all = [&] {
    caf::anon_send_exit(cs, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sched, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
    if (cluster)
      caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
    store::shm_allocator::remove(segment_name);
  };
  auto port = sys.middleman().publish(cs, opts.port, opts.bind.c_str(), true);
  if (!port) {
    spdlog::error("cannot listen on {}:{}: {}", opts.bind, opts.port,
                  sys.render(port.error()));
    stop_all();
    return 2;
  }
  // The control store hands out node_info with the real port from now on.
  info.port = *port;
  info.control = cs;
  caf::anon_send(cs, node_atom::value, *port);
  if (head) {
    // Join: the head gives this node its id and the cluster scheduler; then
    // connect to every other node, so that objects and leases go straight.
    std::string failure;
    caf::scoped_actor self{sys};
    self->request(cs, std::chrono::seconds(10), join_atom::value, info)
      .receive([&](node_info& joined) { info = std::move(joined); },
               [&](caf::error& e) { failure = sys.render(e); });
    node_list peers;
    if (failure.empty())
      self->request(cs, std::chrono::seconds(10), nodes_atom::value)
        .receive([&](node_list& l) { peers = std::move(l); },
                 [&](caf::error& e) { failure = sys.render(e); });
    if (!failure.empty()) {
      spdlog::error("the head at {} did not let this node join: {}", opts.head_address,
                    failure);
      stop_all();
      return 2;
    }
    for (auto& p : peers.nodes)
      if (p.alive && p.node_id != 1 && p.node_id != info.node_id)
        if (auto peer = sys.middleman().remote_actor<control_store_actor>(p.host, p.port);
            !peer)
          spdlog::warn("cannot connect to node {} at {}:{}: {}", p.node_id, p.host, p.port,
                       sys.render(peer.error()));
    spdlog::info("joined the cluster at {} as node {}", opts.head_address, info.node_id);
  } else {
    caf::anon_send(cluster, join_atom::value, info.node_id, info.total, sched);
  }
  caf::anon_send(sched, node_atom::value, info);
  caf::anon_send(manager, node_atom::value, cs, info.node_id);
  std::atomic<bool> stop_reaper{false};
  std::thread reaper{reap_children, std::ref(stop_reaper), sched};
  std::thread([cs, sigs]() mutable {
    int sig = 0;
    sigwait(&sigs, &sig);
    caf::anon_send(cs, stop_atom::value);
  }).detach();
  spdlog::info("node listening on {}:{} with {} (node {})", info.host, *port,
               sched::to_string(opts.resources), info.node_id);
  if (opts.ready_fd >= 0) {
    auto line = std::to_string(*port) + "\n";
    [[maybe_unused]] auto n = ::write(opts.ready_fd, line.data(), line.size());
    ::close(opts.ready_fd);
  }
  {
    caf::scoped_actor self{sys};
    self->monitor(cs);
    self->receive([](const caf::down_msg&) {});
  }
  store::shm_allocator::remove(segment_name);
  caf::anon_send_exit(sched, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
  if (cluster)
    caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
  sys.middleman().unpublish(cs, *port);
  stop_reaper = true;
  reaper.join();
  return 0;
}

namespace detail {

int run_node_daemon() {
  try {
    return run_node(node_options_from_env());
  } catch (const std::exception& e) {
    spdlog::error("node daemon failed: {}", e.what());
    return 2;
  }
}

} // namespace detail

} // namespace troupe
