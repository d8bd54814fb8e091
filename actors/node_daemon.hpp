#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/protocol/messages.hpp"

namespace troupe {

/// How to run a node daemon (from `troupe start` flags or, for an embedded
/// node, from TROUPE_* environment variables set by `init`).
struct node_options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0;        ///< 0: the OS picks one
  resource_map resources;        ///< CPU, GPU and custom resources
  std::size_t object_store_bytes = 0; ///< 0: 30% of RAM
  /// Bytes of the store's memory one job's objects may take (0: no limit).
  std::size_t max_job_store_bytes = 0;
  std::string worker_exe;        ///< prestart a pool for this executable
  std::size_t pool_size = 0;     ///< 0: one worker per CPU
  std::size_t actor_hosts = 0;   ///< light-actor hosts per job (0: one per CPU)
  std::size_t max_actors_per_host = 0; ///< 0: no limit
  int ready_fd = -1;             ///< write "PORT\n" here once listening
  std::string head_address;      ///< HOST:PORT of the head to join ("": be the head)
  std::string spill_dir; ///< where a full store spills ("": the session folder)
  /// Head: where it keeps the cluster's state across its restarts: a
  /// directory (SQLite), `redis://HOST:PORT/KEY`, "session" (a folder of
  /// the session's), or "" (nowhere: an embedded cluster's head).
  std::string state;
  /// How long a member waits for its head to come back, and a restarted
  /// head for its nodes, drivers and actors (0: a member stops at once).
  int head_grace_seconds = 60;
  /// Where the node serves its metrics and health over HTTP (node_http.hpp);
  /// port 0: any free one, -1: no HTTP server.
  std::string metrics_bind = "127.0.0.1";
  int metrics_port = 0;
  /// The head's dashboard (dashboard.hpp): port 0 any free one, -1 none.
  std::string dashboard_bind = "127.0.0.1";
  int dashboard_port = 8265;
};

/// Runs a node daemon until it is stopped (`stop` message, SIGTERM or SIGINT,
/// or the end of the embedded driver); returns the process exit code.
int run_node(const node_options& opts);

/// Returns the address other machines reach a node bound to `bind` at: the
/// address itself, or for 0.0.0.0 the machine's first non-loopback IPv4
/// address (127.0.0.1 when it has none).
std::string advertised_host(const std::string& bind);

/// Returns node options read from the TROUPE_* environment variables.
node_options node_options_from_env();

namespace detail {

/// Runs a node daemon configured by TROUPE_* environment variables (a process
/// that `init` or `troupe start` started with TROUPE_ROLE=node); returns its
/// exit code. `serve_if_spawned` dispatches here.
int run_node_daemon();

} // namespace detail

} // namespace troupe
