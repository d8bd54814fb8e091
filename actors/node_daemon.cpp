#include "actors/node_daemon.hpp"

#include "actors/head_records.hpp"

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/control_store.hpp"
#include "actors/job_manager.hpp"
#include "actors/node_servers.hpp"
#include "scheduler/cluster_scheduler.hpp"
#include "lib/common/config.hpp"
#include "lib/common/port_users.hpp"
#include "lib/net/credentials.hpp"
#include "lib/net/transport.hpp"
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

/// Reaps children (workers, and jobs on the head) and reports each exit to
/// the scheduler.
/// Polls rather than blocks, so that stopping never waits for a child.
/// The head's jobs are its children too: each exit goes to both.
void reap_children(std::atomic<bool>& stop, local_scheduler_actor sched,
                   job_manager_actor jobs) {
  while (!stop) {
    int status = 0;
    auto pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      caf::anon_send(sched, child_atom::value, static_cast<std::int32_t>(pid),
                     static_cast<std::int32_t>(status));
      if (jobs)
        caf::anon_send(jobs, child_atom::value, static_cast<std::int32_t>(pid),
                       static_cast<std::int32_t>(status));
    } else
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

/// Returns `in` with what was left open filled in: every core as CPUs, 30%
/// of RAM for the object store, one worker per CPU.
node_options with_defaults(node_options opts) {
  if (opts.resources.count("CPU") == 0)
    opts.resources["CPU"] = std::max(1u, std::thread::hardware_concurrency());
  if (opts.object_store_bytes == 0)
    opts.object_store_bytes = default_store_bytes();
  if (opts.resources.count("memory") == 0) {
    // What tasks may ask for: the RAM the object store leaves (as in Ray).
    auto ram = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) *
               static_cast<double>(::sysconf(_SC_PAGESIZE));
    opts.resources["memory"] =
        std::max(0.0, ram - static_cast<double>(opts.object_store_bytes));
  }
  if (opts.pool_size == 0)
    opts.pool_size = static_cast<std::size_t>(std::max(1.0, opts.resources["CPU"]));
  return opts;
}

/// Blocks SIGTERM and SIGINT in this thread and returns them: a thread of
/// ours takes them (`node_daemon::start_threads`), and CAF's threads, started
/// later, inherit the mask, so that no CAF thread is interrupted by them.
sigset_t block_stop_signals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  // A handler too, though sigwait takes them: as a container's PID 1 the
  // kernel drops a signal left at its default disposition (`podman stop`
  // and Kubernetes would have to wait for SIGKILL).
  struct sigaction sa {};
  sa.sa_handler = [](int) {};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  return sigs;
}

/// One node daemon's run, in steps that `run_node` calls in order. A step
/// that fails logs why, undoes what the steps before it set up and returns
/// false; the process then exits with code 2.
///
/// The order matters: the store segment exists before its manager; a member
/// node reaches the head before it spawns anything (without the head there
/// is no cluster); the control store hands out node_info with the real port
/// only after it is published; the join gives a member node its id before
/// the scheduler and the store manager learn their node.
class node_daemon {
public:
  explicit node_daemon(node_options opts)
      : opts_(std::move(opts)) {}
  node_daemon(const node_daemon&) = delete;
  node_daemon& operator=(const node_daemon&) = delete;

  /// Creates the shared-memory segment of this node's object store, under a
  /// name of its own (after removing those of daemons that died).
  bool create_store_segment() {
    store::remove_stale_segments();
    std::random_device rd;
    segment_name_ =
        "troupe-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
    try {
      segment_ = store::shm_allocator::create(segment_name_, opts_.object_store_bytes);
    } catch (const std::exception& e) {
      spdlog::error("cannot create the object store ({} bytes): {}",
                    opts_.object_store_bytes, e.what());
      return false;
    }
    return true;
  }

  /// Opens the head's state store, when it keeps one: a restarted head
  /// finds its cluster there. Failing to open it (another live head holds
  /// it, Redis is unreachable) is failing to start.
  bool open_state() {
    if (!opts_.head_address.empty() || opts_.state.empty())
      return true;
    try {
      records_ = std::make_shared<head_records>(open_state_store(opts_.state));
      spdlog::info("head state in {}", records_->describe());
      return true;
    } catch (const std::exception& e) {
      spdlog::error("cannot open the head's state store: {}", e.what());
      store::shm_allocator::remove(segment_name_);
      return false;
    }
  }

  /// Starts the actor system (after the signals are blocked: see
  /// `block_stop_signals`).
  bool start_actor_system() {
    net::security sec;
    try {
      sec = net::security_from_env("node");
    } catch (const std::exception& e) {
      spdlog::error("cannot start: {}", e.what());
      store::shm_allocator::remove(segment_name_);
      return false;
    }
    if (sec.insecure)
      spdlog::warn("running without TLS (--insecure): anyone who can reach this node's "
                   "port can run code on it");
    else
      spdlog::info("TLS on, cluster {}", sec.cluster_id);
    if (!sec.insecure && !write_head_credentials())
      return false;
    cfg_ = detail::make_system_config();
    sys_.emplace(*cfg_);
    transport_.emplace(*sys_, std::move(sec));
    return true;
  }

  /// A head that keeps its state in a directory keeps its cluster's
  /// credentials beside it, in `tls/`: the token (for a restart and for
  /// local tools), the CA and a certificate, keys readable by its user only.
  bool write_head_credentials() {
    if (!opts_.head_address.empty() || opts_.state.empty()
        || opts_.state.starts_with("redis://"))
      return true;
    try {
      auto token = net::cluster_token::parse(detail::env_or(net::token_variable, ""));
      auto dir = std::filesystem::path{opts_.state} / "tls";
      net::write_credentials(dir, token, net::issue_credentials(token, "head"));
      spdlog::info("the cluster's CA and credentials are in {}", dir.string());
      return true;
    } catch (const std::exception& e) {
      spdlog::error("cannot write the cluster's credentials: {}", e.what());
      store::shm_allocator::remove(segment_name_);
      return false;
    }
  }

  /// Reaches the head's control store, for a member node: without it there
  /// is no cluster to join. The head node itself has nothing to do here.
  bool connect_to_head() {
    if (opts_.head_address.empty())
      return true;
    auto colon = opts_.head_address.rfind(':');
    auto head_host = opts_.head_address.substr(0, colon);
    auto head_port = colon == std::string::npos
                         ? 0
                         : std::atoi(opts_.head_address.c_str() + colon + 1);
    auto h = net::remote_actor<control_store_actor>(*sys_, head_host,
                                                    static_cast<std::uint16_t>(head_port));
    if (!h) {
      spdlog::error("cannot reach the head node at {}: {}", opts_.head_address,
                    sys_->render(h.error()));
      store::shm_allocator::remove(segment_name_);
      return false;
    }
    head_ = *h;
    head_host_ = head_host;
    head_port_ = static_cast<std::uint16_t>(head_port);
    return true;
  }

  /// Spawns the node's actors: store manager, local scheduler, on the head
  /// node the cluster scheduler (the head is node 1), and the control store,
  /// which describes this node to others.
  void spawn_actors() {
    manager_ = store::spawn_store_manager(*sys_, segment_, opts_.spill_dir,
                                          opts_.max_job_store_bytes);
    sched_ = sched::spawn_local_scheduler(
        *sys_, {opts_.resources, opts_.worker_exe, opts_.pool_size, 64, opts_.actor_hosts,
                opts_.max_actors_per_host});
    info_.host = advertised_host(opts_.bind);
    info_.scheduler = sched_;
    info_.store_manager = manager_;
    info_.segment = segment_name_;
    info_.store_capacity = opts_.object_store_bytes;
    info_.total = opts_.resources;
    if (!head_) {
      cluster_ = sched::spawn_cluster_scheduler(
        *sys_, records_ ? make_group_keeper(records_, 1) : nullptr);
      info_.cluster = cluster_;
      info_.node_id = 1;
      jobs_ = spawn_job_manager(*sys_, {detail::env_or("TROUPE_SESSION_DIR", "")});
      info_.jobs = jobs_;
    }
    control_store_options cs_opts;
    cs_opts.records = records_;
    cs_opts.grace = std::chrono::seconds(opts_.head_grace_seconds);
    cs_opts.head_host = head_host_;
    cs_opts.head_port = head_port_;
    cs_ = spawn_control_store(*sys_, info_, head_, std::move(cs_opts));
  }

  /// Publishes the control store on the node's port (the OS picks one for
  /// port 0) and tells the control store which one it got.
  bool publish() {
    auto port = net::publish(*sys_, cs_, opts_.port, opts_.bind, true);
    if (!port) {
      auto users = opts_.port != 0 ? detail::port_users(opts_.port) : std::string{};
      spdlog::error("cannot listen on {}:{}: {}{}", opts_.bind, opts_.port,
                    sys_->render(port.error()),
                    users.empty() ? "" : " (the port is held by " + users + ")");
      abort_start();
      return false;
    }
    port_ = *port;
    // The control store hands out node_info with the real port from now on.
    info_.port = port_;
    info_.control = cs_;
    caf::anon_send(cs_, node_atom::value, port_);
    return true;
  }

  /// Joins the cluster: a member node through the head, which gives it its
  /// id and the cluster scheduler; the head node's scheduler directly.
  bool join_cluster() {
    if (!head_) {
      caf::anon_send(cluster_, join_atom::value, info_.node_id, info_.total, sched_);
      return true;
    }
    node_list peers;
    if (auto failure = join_head(peers); !failure.empty()) {
      spdlog::error("the head at {} did not let this node join: {}", opts_.head_address,
                    failure);
      abort_start();
      return false;
    }
    connect_to_peers(peers);
    spdlog::info("joined the cluster at {} as node {}", opts_.head_address,
                 info_.node_id);
    return true;
  }

  /// Tells the scheduler and the store manager their node, once it has its id.
  void tell_node_to_actors() {
    caf::anon_send(sched_, node_atom::value, info_);
    caf::anon_send(manager_, node_atom::value, cs_, info_.node_id);
    if (jobs_)
      caf::anon_send(jobs_, node_atom::value, info_);
  }

  /// Starts the thread that reaps workers and the one that turns SIGTERM or
  /// SIGINT (blocked in every other thread) into a stop of the control store.
  void start_threads(sigset_t sigs) {
    reaper_ = std::thread{reap_children, std::ref(stop_reaper_), sched_, jobs_};
    std::thread([cs = cs_, sigs]() mutable {
      int sig = 0;
      sigwait(&sigs, &sig);
      caf::anon_send(cs, stop_atom::value);
    }).detach();
  }

  /// Starts the node's HTTP servers (metrics, and the head's dashboard),
  /// and tells the control store where they are.
  void start_http() {
    http_ = start_node_servers(*sys_, info_, cs_, cluster_, opts_);
    caf::anon_send(cs_, metrics_atom::value, http_.endpoints());
  }

  /// Logs that the node is up and writes its port to the ready pipe, on
  /// which the process that started it waits.
  void report_ready() {
    spdlog::info("node listening on {}:{} with {} (node {})", info_.host, port_,
                 sched::to_string(opts_.resources), info_.node_id);
    if (opts_.ready_fd >= 0) {
      auto line = std::to_string(port_) + "\n";
      [[maybe_unused]] auto n = ::write(opts_.ready_fd, line.data(), line.size());
      ::close(opts_.ready_fd);
    }
  }

  /// Returns once the control store is down: a `stop` message, a signal or
  /// the end of the embedded driver ends it.
  void serve_until_stopped() {
    caf::scoped_actor self{*sys_};
    self->monitor(cs_);
    self->receive([](const caf::down_msg&) {});
  }

  /// Stops what outlives the control store; the reaper last, so that workers
  /// ending meanwhile are still reaped.
  void stop() {
    http_ = {};
    store::shm_allocator::remove(segment_name_);
    caf::anon_send_exit(sched_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(manager_, caf::exit_reason::user_shutdown);
    if (cluster_)
      caf::anon_send_exit(cluster_, caf::exit_reason::user_shutdown);
    if (jobs_)
      caf::anon_send_exit(jobs_, caf::exit_reason::user_shutdown);
    net::unpublish(*sys_, cs_.address(), port_);
    stop_reaper_ = true;
    reaper_.join();
  }

private:
  /// Asks the head (through this node's control store) to let this node
  /// join, then for the list of nodes; returns why either failed, or "".
  std::string join_head(node_list& peers) {
    std::string failure;
    caf::scoped_actor self{*sys_};
    self->request(cs_, std::chrono::seconds(10), join_atom::value, info_)
        .receive([&](node_info& joined) { info_ = std::move(joined); },
                 [&](caf::error& e) { failure = sys_->render(e); });
    if (failure.empty())
      self->request(cs_, std::chrono::seconds(10), nodes_atom::value)
          .receive([&](node_list& l) { peers = std::move(l); },
                   [&](caf::error& e) { failure = sys_->render(e); });
    return failure;
  }

  /// Connects to every other member node, so that objects and leases go
  /// straight to it rather than through the head. A node it cannot reach
  /// costs a warning, not the join.
  void connect_to_peers(const node_list& peers) {
    for (auto& p : peers.nodes)
      if (p.alive && p.node_id != 1 && p.node_id != info_.node_id)
        if (auto peer = net::remote_actor<control_store_actor>(*sys_, p.host, p.port);
            !peer)
          spdlog::warn("cannot connect to node {} at {}:{}: {}", p.node_id, p.host,
                       p.port, sys_->render(peer.error()));
  }

  /// Undoes `spawn_actors` and `create_store_segment` when a later step of
  /// the start fails.
  void abort_start() {
    caf::anon_send_exit(cs_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sched_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(manager_, caf::exit_reason::user_shutdown);
    if (cluster_)
      caf::anon_send_exit(cluster_, caf::exit_reason::user_shutdown);
    if (jobs_)
      caf::anon_send_exit(jobs_, caf::exit_reason::user_shutdown);
    store::shm_allocator::remove(segment_name_);
  }

  node_options opts_;
  std::string segment_name_;
  std::shared_ptr<store::shm_allocator> segment_;
  // Declared before the handles below, so that it outlives them.
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::optional<caf::actor_system> sys_;
  std::optional<net::transport> transport_; ///< after sys_: goes before it
  control_store_actor head_; ///< none on the head node
  std::string head_host_;     ///< where a member finds a head again
  std::uint16_t head_port_ = 0;
  std::shared_ptr<head_records> records_; ///< the head's state store, if any
  store_manager_actor manager_;
  local_scheduler_actor sched_;
  node_info info_;
  cluster_scheduler_actor cluster_; ///< only on the head node
  job_manager_actor jobs_;          ///< only on the head node
  control_store_actor cs_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_reaper_{false};
  std::thread reaper_;
  node_servers http_; ///< stopped before the actor system goes
};

} // namespace

int run_node(const node_options& in) {
  auto session = detail::start_log_session();
  detail::init_logging("node", "warn", "node.log");
  if (!session.empty())
    spdlog::info("cluster session logs in {}", session);
  // The steps, and why they come in this order: see node_daemon.
  auto opts = with_defaults(in);
  if (opts.state == "session")
    opts.state = (session.empty() ? std::string{"/tmp"} : session) + "/head-state";
  node_daemon node{std::move(opts)};
  auto sigs = block_stop_signals();
  if (!node.create_store_segment())
    return 2;
  if (!node.open_state())
    return 2;
  if (!node.start_actor_system() || !node.connect_to_head())
    return 2;
  node.spawn_actors();
  if (!node.publish() || !node.join_cluster())
    return 2;
  node.tell_node_to_actors();
  node.start_threads(sigs);
  node.start_http();
  node.report_ready();
  node.serve_until_stopped();
  node.stop();
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
