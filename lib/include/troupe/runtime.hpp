#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace troupe {

/// How `init` finds or starts a cluster.
struct init_options {
  /// `host:port` of a head started with `troupe start --head`; empty uses
  /// the environment variable TROUPE_ADDRESS, and without it starts an
  /// embedded local cluster that `shutdown` stops again.
  std::string address;
  /// CPUs of the embedded node (0: one per hardware thread); also the size
  /// of its worker pool.
  double num_cpus = 0;
  /// GPUs of the embedded node.
  double num_gpus = 0;
  /// Custom resources of the embedded node, e.g. `{{"accelerator", 2}}`.
  std::map<std::string, double> resources;
  /// Bytes of the embedded node's shared-memory object store (0: 30% of RAM).
  std::size_t object_store_memory = 0;
  /// Bytes of the embedded node's store memory one job's objects may take:
  /// past them its oldest unread objects are spilled, then a put or result
  /// fails with `job_store_limit_error` (0: no limit).
  std::size_t max_job_store_bytes = 0;
  /// Folder where the embedded node's full store writes objects ("": one in
  /// the session folder, removed when the node stops).
  std::string spill_dir;
  /// Worker processes of the embedded node that host this job's light
  /// actors (`actor_isolation::shared`; 0: one per CPU), and most light
  /// actors in one of them (0: no limit). TROUPE_ACTOR_HOSTS and
  /// TROUPE_MAX_ACTORS_PER_HOST win when set.
  std::size_t actor_hosts = 0;
  std::size_t max_actors_per_host = 0;
  /// The cluster's token, as `troupe start --head` printed it; empty uses
  /// TROUPE_TOKEN, then the token of a head started on this machine. An
  /// embedded cluster makes a new one.
  std::string token;
  /// Connect without TLS, to a cluster started with `--insecure`
  /// (TROUPE_INSECURE=1 does the same).
  bool insecure = false;
  /// spdlog level name for troupe's own log lines (`TROUPE_LOG_LEVEL` wins).
  std::string log_level = "warn";
  /// Print what this job's tasks and actors write to stdout and stderr here,
  /// each line prefixed like `(task_name pid=123, node=2)`; false keeps it
  /// in the workers' log files only (`troupe logs` reads them).
  bool log_to_driver = true;
  /// Port of the embedded node's metrics and health endpoints
  /// (`http://127.0.0.1:PORT/metrics`, `/healthz`; `troupe metrics` finds
  /// it): 0 picks a free one, -1 starts none.
  int metrics_port = 0;
  /// Port of the embedded cluster's dashboard (`http://127.0.0.1:8265`; when
  /// another cluster has it, any free one: `troupe status` says where);
  /// 0 picks a free one, -1 starts none.
  int dashboard_port = 8265;
};

/// Connects this program, the *driver*, to a cluster: with no address it
/// starts an embedded local cluster (a node daemon process with a pool of
/// worker processes). Throws `troupe::error` when the cluster cannot be
/// reached or started.
///
/// Worker processes run this program's own executable: `init` is where they
/// branch off to serve tasks, so call it at the top of `main`, before any
/// work that workers must not repeat.
void init(const init_options& options = {});

/// Stops what `init` started (the embedded cluster, if any) and disconnects.
/// Refs become unusable. A no-op when not initialised.
void shutdown();

/// Returns whether `init` has run and `shutdown` has not.
[[nodiscard]] bool is_initialized() noexcept;

/// If this process was started by troupe as a node daemon or worker, serves
/// that role and exits the process; otherwise returns at once. `init` calls
/// it; test runners whose `main` is not the user's call it first thing.
void serve_if_spawned();

} // namespace troupe
