#pragma once

// The ingress's logic, without actors or sockets: which replicas each
// deployment has, which one takes a request, and what the control loop must
// do to reach each deployment's target (its version and replica count).
//
// A replica's states, by number of the transition:
//
//     starting --(1) its ready() answered---------> active
//     starting --(2) its creation failed----------> gone (the error kept)
//     active ----(3) a request found it dead------> gone
//     active ----(4) too many, or an old version--> draining (no new requests)
//     draining --(5) its last request answered----> gone (its actor killed)
//
// The control loop (`plan`) starts replicas of the target version until
// there are `desired` of them; once that many are active it drains the old
// version's (an update), or the extras (a scale-down). Requests go to the
// active replica with the fewest outstanding (ties in turn).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace troupe::serve::detail {

/// What the router keeps of a deployment's options.
struct target {
  std::string route;
  std::string version;
  int num_replicas = 1;
  bool autoscaling = false;
  int min_replicas = 1;
  int max_replicas = 1;
  double target_ongoing_requests = 2;
  double downscale_delay_s = 10;
};

enum class replica_state : std::uint8_t { starting, active, draining };

struct replica_slot {
  std::uint64_t id = 0;
  std::string version;
  replica_state state = replica_state::starting;
  std::int64_t outstanding = 0;
};

/// What the control loop must do now.
struct plan_steps {
  struct start {
    std::string deployment;
    std::uint64_t id;
    std::string version;
  };
  std::vector<start> starts;
  std::vector<std::uint64_t> kills; ///< replicas now gone: end their actors
};

class router {
public:
  using clock = std::chrono::steady_clock;

  /// Sets (or updates) a deployment's target.
  void set_target(const std::string& name, const target& t);
  /// Drops a deployment; returns its replicas, to kill.
  std::vector<std::uint64_t> remove(const std::string& name);

  /// Returns the deployment whose route is the longest prefix of `path`.
  [[nodiscard]] std::optional<std::string> route(const std::string& path) const;
  /// Picks the replica for a request to `name` and counts it outstanding;
  /// nullopt while none is active.
  std::optional<std::uint64_t> pick(const std::string& name);
  /// A request to replica `id` ended; `died`: the replica is gone.
  void done(const std::string& name, std::uint64_t id, bool failed, bool died);

  /// The replica answered its ready() (1), or could not start (2).
  void ready(const std::string& name, std::uint64_t id);
  void start_failed(const std::string& name, std::uint64_t id, const std::string& why);

  /// Decides what to start and kill now (`now` for the downscale delay).
  plan_steps plan(clock::time_point now);

  /// Returns whether `name` runs its target: `desired` active replicas of
  /// its version, nothing else.
  [[nodiscard]] bool converged(const std::string& name) const;
  /// Returns how many starts of `name` failed in a row (0 after a success).
  [[nodiscard]] int start_failures(const std::string& name) const;

  struct deployment {
    target goal;
    std::vector<replica_slot> replicas;
    int desired = 1;
    std::optional<clock::time_point> below_since; ///< load under `desired` since
    std::uint64_t requests = 0;
    std::uint64_t failed = 0;
    int start_failures = 0;
    std::string last_error;
  };
  [[nodiscard]] const std::map<std::string, deployment>& deployments() const noexcept {
    return deployments_;
  }

private:
  int wanted(deployment& d, clock::time_point now);
  replica_slot* find(const std::string& name, std::uint64_t id);
  void erase(deployment& d, std::uint64_t id);

  std::map<std::string, deployment> deployments_;
  std::uint64_t next_id_ = 1;
  std::uint64_t turn_ = 0;
};

} // namespace troupe::serve::detail
