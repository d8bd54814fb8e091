#pragma once

// `troupe start` and `troupe stop`: node daemons that outlive the CLI.

#include <cstddef>
#include <cstdint>
#include <string>

namespace troupe::tools {

/// The flags of `troupe start`.
struct start_flags {
  bool head = false;
  std::string address;    ///< HOST:PORT of the head to join (instead of --head)
  std::uint16_t port = 0; ///< 0: the OS picks one
  double num_cpus = -1;   ///< -1: one per hardware thread; 0: none (a head that runs no tasks)
  double num_gpus = 0;
  std::string resources;               ///< `name=value,...`
  std::size_t object_store_memory = 0; ///< bytes; 0: 30% of RAM
  std::size_t max_job_store_bytes = 0; ///< a job's share of the store; 0: no limit
  std::string spill_dir; ///< "": a folder of the session's
  std::string state_dir; ///< head: where its state persists (SQLite)
  std::string state_url; ///< head: redis://HOST:PORT/KEY instead
  int head_grace = 60;   ///< seconds a head's absence is waited out
  std::size_t actor_hosts = 0;         ///< light-actor hosts per job (0: one per CPU)
  std::size_t max_actors_per_host = 0; ///< 0: no limit
  std::string bind = "127.0.0.1";
  bool block = false; ///< run the node in this process
  std::string token;     ///< the cluster's token ("": see settle_token)
  bool insecure = false; ///< no TLS, no token
  int metrics_port = 0;  ///< the node's metrics and health over HTTP (0: any port, -1: none)
  std::string metrics_bind = "127.0.0.1";
  int dashboard_port = 8265; ///< the head's dashboard (0: any port, -1: none)
  std::string dashboard_bind = "127.0.0.1";
};

/// Starts a head node, or a node that joins the head at `address` (in the background, or in the foreground with
/// `block`); returns the process exit code: 0, 1 when the node failed to
/// start, 2 for bad flags.
int run_start(const start_flags& flags);

/// Stops every node recorded in the state directory; returns 0, or 1 if a
/// node could not be signalled.
int run_stop();

/// Returns the address of the head of the nodes we started (the single head
/// running here); throws `std::runtime_error` (with advice) when there is
/// none or more than one.
std::string default_address();

} // namespace troupe::tools
