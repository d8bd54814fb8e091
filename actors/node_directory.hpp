#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/protocol/messages.hpp"

namespace troupe {

/// A connected driver, as the control store records it.
struct job_record {
  std::uint64_t id = 0;
  std::int32_t pid = 0;
  std::string exe;
  bool embedded = false;
  bool alive = true;
  std::uint64_t node_id = 0; ///< where the driver runs
  std::string exe_hash;      ///< nodes fetch the executable by it...
  core_actor core;           ///< ...from the driver
  bool log_to_driver = true; ///< its workers' output goes to the driver
};

/// The cluster's members on the head's control store: its nodes, in the
/// order they joined (the head is 1), and its jobs (connected drivers).
class node_directory {
public:
  /// Records a node that joins; returns it with its id. A node that names
  /// an id it had before the head restarted (and that was not given up)
  /// gets it back.
  node_info add(node_info n);

  /// Marks the node dead; returns false when it was dead or unknown.
  bool mark_dead(std::uint64_t node_id);

  /// Returns the node, or nullptr.
  node_info* find(std::uint64_t node_id);

  /// Returns the node when it is alive, else nullptr.
  const node_info* alive(std::uint64_t node_id) const;

  /// Returns every node, dead ones too.
  node_list list() const;

  const std::map<std::uint64_t, node_info>& all() const noexcept { return nodes_; }

  /// Registers a driver; returns its job id.
  std::uint64_t add_job(const job_spec& spec);

  /// Marks the job ended; returns it when it was alive (its pool goes),
  /// else nothing.
  std::optional<job_record> end_job(std::uint64_t job_id);

  /// Ends the job of the driver whose core actor has address `core`; returns
  /// it when it was alive, else nothing.
  std::optional<job_record> end_job_of(const caf::actor_addr& core);

  /// Ends the jobs whose drivers ran on `node_id`; returns them.
  std::vector<job_record> end_jobs_on(std::uint64_t node_id);

  /// Returns the driver that job `job_id`'s worker output goes to: none when
  /// the job ended or turned log_to_driver off.
  core_actor output_driver(std::uint64_t job_id) const;

  /// Returns the jobs still alive.
  std::vector<job_record> live_jobs() const;

  const std::map<std::uint64_t, job_record>& jobs() const noexcept { return jobs_; }

  /// Persistence (as actor_directory's): the nodes and jobs changed since
  /// the last call, once. Off until `track_changes(true)`.
  void track_changes(bool on) noexcept { tracking_ = on; }
  std::vector<std::uint64_t> take_changed_nodes();
  std::vector<std::uint64_t> take_changed_jobs();
  /// Puts back what a restarted head loaded: nodes (alive ones wait to
  /// rejoin), jobs (alive ones wait for their driver), the next job id.
  void restore(const std::vector<node_info>& nodes, const std::vector<job_record>& jobs,
               std::uint64_t next_job);
  /// Attaches a resumed job (its driver reconnected) to its driver's core;
  /// false when it is not a living job.
  bool resume_job(std::uint64_t job_id, const job_spec& spec);
  std::uint64_t next_job() const noexcept { return next_job_; }

private:
  void changed_node(std::uint64_t id) {
    if (tracking_)
      changed_nodes_.insert(id);
  }
  void changed_job(std::uint64_t id) {
    if (tracking_)
      changed_jobs_.insert(id);
  }
  bool tracking_ = false;
  std::set<std::uint64_t> changed_nodes_, changed_jobs_;
  std::map<std::uint64_t, node_info> nodes_;
  std::map<std::uint64_t, job_record> jobs_;
  std::uint64_t next_job_ = 1;
};

} // namespace troupe
