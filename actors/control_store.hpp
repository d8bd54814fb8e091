#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <caf/typed_actor.hpp>

#include "lib/src/messages.hpp"

namespace troupe {

/// The control store: the cluster's metadata (its node and the jobs, i.e.
/// drivers, connected to it). It is the actor a node publishes on its port:
/// drivers, workers and the CLI reach everything else through it.
///
///     node daemon -> control : node(port)      (the port it listens on)
///     worker, CLI -> control : node            ==> node_info
///     driver      -> control : hello(job_spec)  ==> hello_reply (job id)
///     anyone      -> control : status           ==> JSON of node and jobs
///     driver, CLI -> control : stop             ==> true (stops the node)
///
/// An embedded node (started by a driver's `init`) stops when its driver's
/// core actor goes down, so a driver killed with SIGKILL leaves nothing.
using control_store_actor = caf::typed_actor<
  caf::reacts_to<node_atom, std::uint16_t>,
  caf::replies_to<node_atom>::with<node_info>,
  caf::replies_to<hello_atom, job_spec>::with<hello_reply>,
  caf::replies_to<status_atom>::with<std::string>,
  caf::replies_to<stop_atom>::with<bool>>;

/// A connected driver, as the control store records it.
struct job_record {
  std::uint64_t id = 0;
  std::int32_t pid = 0;
  std::string exe;
  bool embedded = false;
  bool alive = true;
};

/// The control store's logic, driven by tests without a network.
struct control_store_state {
  node_info node;
  std::map<std::uint64_t, job_record> jobs;
  std::uint64_t next_job = 1;

  /// Registers a driver; returns its job id.
  std::uint64_t add_job(const job_spec& spec);
  /// Marks the job whose driver had pid `pid` as ended; returns whether the
  /// node should stop (it was the embedded driver).
  bool job_ended(std::uint64_t job_id);
  /// Returns the JSON status object (without scheduler and store details).
  std::string describe_json() const;
};

/// Spawns the control store for `node`; `on_stop` runs when it stops.
control_store_actor spawn_control_store(caf::actor_system& sys, node_info node);

} // namespace troupe
