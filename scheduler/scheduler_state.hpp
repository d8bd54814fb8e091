#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "lib/protocol/messages.hpp"

namespace troupe::sched {

/// The local scheduler's effects; the actor sends messages and starts
/// processes, tests record them.
class scheduler_io {
public:
  virtual ~scheduler_io() = default;
  /// Starts a worker process running `exe`; returns its pid, or -1 when it
  /// cannot now (it reports why, or starts later through `exe_ready`).
  virtual int start_worker(const std::string& exe, std::uint64_t worker_id) = 0;
  virtual void grant(const core_actor& requester, const lease_grant& grant) = 0;
  virtual void deny(const core_actor& requester, std::uint64_t request_id,
                    const std::string& why) = 0;
  virtual void worker_died(const core_actor& holder, std::uint64_t worker_id,
                           const std::string& why) = 0;
  virtual void kill_worker(int pid) = 0;
  /// A worker dedicated to an actor ended (the control store settles why
  /// the actor died).
  virtual void dedicated_worker_exited(std::uint64_t worker_id, const process_exit& how) = 0;
  /// Hands a request to the cluster scheduler: it has a strategy, or this
  /// node has no room for it now while others may.
  virtual void spill(const lease_request& req) = 0;
};

/// One node's resources and worker processes, leased to submitters.
///
/// Worker states:
///
///     starting --(1) registers------------------> idle
///     idle ------(2) lease granted--------------> leased
///     leased ----(3) lease returned / holder gone> idle
///     any -------(4) process exits--------------> gone (holder told why)
///
/// A leased worker that blocks in `get` gives its resources back until it
/// unblocks (5), so tasks that wait for other tasks cannot deadlock the node.
/// A worker leased for an actor (`dedicated`) hosts it until it dies: it is
/// never returned, and a new worker takes its place in the job's pool.
///
/// Light actors live in actor hosts: workers of a job that host many
/// (actor_hosts.cpp). A host request asks for `count` slots; it is granted
/// as many as the node's resources hold (each slot holds the request's
/// resources until its actor ends), all on the job's host with the fewest
/// actors. A job's first host request starts `hosts_per_node` hosts; a
/// host that dies is replaced when more actors come.
class scheduler_state {
public:
  /// `max_workers` bounds the workers that serve tasks (actors' workers are
  /// not counted: every actor needs a process of its own).
  scheduler_state(scheduler_io& io, resource_map total, std::size_t max_workers);

  /// Sets the node's id (worker ids are `node << 32 | n`, unique in the
  /// cluster); call before the first worker starts.
  void set_node(std::uint64_t node_id);
  /// Sets the number of alive nodes: with one, nothing is spilled.
  void set_cluster_size(std::size_t alive_nodes) { cluster_size_ = alive_nodes; }

  /// Reserves a bundle of a placement group: its resources serve only
  /// requests in that bundle from now on. A bundle reserved already is kept
  /// as it is (a restarted head reserves again what a node kept).
  void reserve(const bundle_reservation& b);
  /// Gives the group's bundles back to the node.
  void release_group(std::uint64_t group);
  /// Returns what the cluster scheduler is told of this node.
  resource_report report() const;

  /// Starts `count` workers of `exe` ahead of demand (a job's pool).
  void prestart(const std::string& exe, std::size_t count);

  /// A driver running `exe` connected.
  void job_started(const std::string& exe);
  /// A driver running `exe` is gone: when it was the last one, the pool of
  /// `exe` goes away (its workers are killed).
  void job_ended(const std::string& exe);

  void on_register(const worker_hello& hello);
  void on_lease(const lease_request& req);
  void on_cancel(std::uint64_t request_id, const caf::actor_addr& requester);
  void on_return(std::uint64_t worker_id);
  void on_blocked(std::uint64_t worker_id);
  void on_unblocked(std::uint64_t worker_id);
  /// A child process ended with `waitpid` status `status`.
  void on_child_exit(int pid, int status);
  /// A worker's actors went down (frozen or disconnected): kill it.
  void on_worker_down(const caf::actor_addr& executor);
  /// A lease holder is gone: its workers come back, its requests go.
  void on_holder_down(const caf::actor_addr& holder);

  /// Workers of `exe` cannot start until `exe_ready` (it is being fetched).
  void exe_pending(const std::string& exe) { pending_exes_[exe] = true; }
  bool is_exe_pending(const std::string& exe) const { return pending_exes_.count(exe) > 0; }
  /// `exe` can run now: start what waits for it.
  void exe_ready(const std::string& exe);
  /// `exe` cannot be had: deny the requests for it.
  void exe_failed(const std::string& exe, const std::string& why);

  /// Actor hosts per job on this node (0: one per CPU, at least one), and
  /// most light actors on one (0: no limit).
  void set_actor_hosts(std::size_t per_node, std::size_t max_actors_per_host);
  /// `count` light-actor slots of `each` on host `worker_id` are free again.
  void on_slots_released(std::uint64_t worker_id, const resource_map& each,
                         std::uint32_t count);

  /// Kills every worker (node shutdown).
  void stop_all();

  /// Kills the worker (it hosts an actor that was killed).
  void kill(std::uint64_t worker_id);

  /// Returns a JSON object describing resources, workers and demands.
  std::string describe_json() const;

  const resource_map& available() const noexcept { return available_; }
  const resource_map& total() const noexcept { return total_; }
  std::size_t pending_requests() const noexcept { return pending_.size(); }
  std::size_t worker_count() const noexcept { return workers_.size(); }
  /// Returns the number of workers that serve tasks: `max_workers` limits
  /// these; each actor has a process of its own beyond them.
  std::size_t task_workers() const;

private:
  enum class wstate { starting, idle, leased };
  struct worker {
    std::uint64_t id = 0;
    int pid = 0;
    std::string exe;
    wstate st = wstate::starting;
    executor_actor executor;
    endpoint address; ///< where lease holders connect to it
    core_actor core;  ///< its core actor (lease holders send it cancels)
    core_actor holder;
    resource_map held;
    bool blocked = false;
    bool dedicated = false;
    bool host = false;        ///< an actor host (light actors), never idle
    bool starts_as_host = false; ///< started for the hosts of its job
    std::size_t actors = 0;   ///< light actors it holds slots for
    std::vector<core_actor> creators; ///< told when it dies (creations in flight)
    std::uint64_t group = 0; ///< its resources come from this bundle
    std::int32_t bundle = -1;
  };

  struct bundle {
    resource_map total;
    resource_map available;
  };
  using bundle_key = std::pair<std::uint64_t, std::int32_t>;

  /// Returns the pool a request takes from when it fits now (the node's, or
  /// one of its placement group's bundles on this node), else nullptr.
  resource_map* pool_for(const lease_request& req, bundle_key* key);
  /// Returns the pool a leased worker's resources go back to.
  resource_map& pool_of(const worker& w);
  /// Returns whether some bundle of the request's group on this node could
  /// ever hold it.
  bool bundle_feasible(const lease_request& req) const;

  /// Returns the number of workers of `exe` that serve tasks (not actors).
  std::size_t pool_size(const std::string& exe) const;

  /// Starts workers until the pool of `exe` is at its target again.
  void refill(const std::string& exe);

  void dispatch();
  /// Grants what it can of a host request now; returns whether it did.
  bool serve_host_request(const lease_request& req);
  /// Makes the job's hosts number `hosts_per_node` (idle workers become
  /// hosts, or new ones start).
  void grow_hosts(const std::string& exe);
  std::size_t host_target() const;
  /// A host process ended: its slots come back, its actors' deaths are the
  /// control store's to settle, creations in flight there fail.
  void host_exited(worker& w, const process_exit& how);
  /// Makes room at the worker limit: kills an idle worker of another
  /// executable; returns whether there was one.
  bool evict_idle_worker_except(const std::string& exe);
  void start_worker(const std::string& exe);
  void release(worker& w);

  scheduler_io& io_;
  resource_map total_;
  resource_map available_;
  std::size_t max_workers_;
  std::size_t hosts_per_node_ = 0;
  std::size_t max_actors_per_host_ = 0;
  std::uint64_t next_worker_ = 1;
  std::map<std::uint64_t, worker> workers_;
  std::map<std::string, std::size_t> pool_target_; ///< prestarted per exe
  std::map<std::string, std::size_t> jobs_;        ///< live drivers per exe
  std::deque<lease_request> pending_;
  std::map<bundle_key, bundle> bundles_;
  std::map<std::string, bool> pending_exes_; ///< being fetched
  std::uint64_t node_id_ = 0;
  std::size_t cluster_size_ = 1;
};

} // namespace troupe::sched
