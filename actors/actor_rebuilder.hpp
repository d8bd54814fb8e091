#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "lib/protocol/messages.hpp"

namespace troupe {

/// The head's builder of actors whose creator is gone (Ray's GCS restarts a
/// detached actor the same way): given an actor's kept creation
/// (actor_creation), it leases a worker for it as its creator would, from
/// the head node's local scheduler (which places it in the cluster), pushes
/// the creation task there, and tells the control store where the actor was
/// built, or why not. To local schedulers and workers it stands where a
/// creator's core actor would: it takes what they send a creator.
///
///     control store -> rebuilder : restart(id, rebuilds before, actor_creation)
///     local sched.  -> rebuilder : granted(lease_grant) | denied(request id, why)
///                                | worker_died(worker id, why)
///     worker        -> rebuilder : done(ResultBatch bytes)
///     rebuilder -> control store : built(id, worker id, restarts)
///                                | actor_fail(id, why) (it cannot be placed, its
///                                  factory threw, its worker died building it)
///
/// Logic: `rebuild_state`, which tests drive without actors.
using actor_rebuilder_actor = caf::typed_actor<
  caf::reacts_to<restart_atom, object_id, std::uint32_t, actor_creation>,
  caf::reacts_to<granted_atom, lease_grant>,
  caf::reacts_to<denied_atom, std::uint64_t, std::string>,
  caf::reacts_to<worker_died_atom, std::uint64_t, std::string>,
  caf::reacts_to<done_atom, std::vector<char>>>;

/// The rebuilds under way, and what each step leads to.
class rebuild_state {
public:
  /// What the control store is to hear: built (`error` empty) or failed.
  struct outcome {
    object_id id;
    std::uint64_t worker_id = 0;
    std::uint32_t restarts = 0;
    std::optional<error_info> error;
  };

  /// Starts rebuilding `id`, rebuilt `restarts` times before: returns the
  /// lease to ask for (a worker of its own, as its creator asked).
  lease_request start(const object_id& id, std::uint32_t restarts, actor_creation c,
                      const core_actor& requester);

  /// A worker was granted: returns the TaskBatch to push to it, or nothing
  /// for a grant nobody waits for. Throws troupe::error (protocol) for a
  /// kept creation that is not a TaskBatch of one task.
  std::optional<std::vector<char>> granted(const lease_grant& g);

  std::optional<outcome> denied(std::uint64_t request_id, const std::string& why);
  std::optional<outcome> worker_died(std::uint64_t worker_id, const std::string& why);
  /// The worker answered: one outcome per creation it answered.
  std::vector<outcome> done(const std::vector<char>& result_batch);

  std::size_t under_way() const noexcept { return asked_.size() + running_.size(); }

private:
  struct build {
    object_id id;
    std::uint32_t restarts = 0; ///< rebuilds before this one
    actor_creation creation;
    std::uint64_t worker_id = 0;
  };
  std::map<std::uint64_t, build> asked_;   ///< by lease request id
  std::map<std::uint64_t, build> running_; ///< by task id
  std::uint64_t next_request_ = 1;
  std::uint64_t next_task_ = 1;
};

actor_rebuilder_actor spawn_actor_rebuilder(caf::actor_system& sys,
                                            const control_store_actor& control,
                                            const local_scheduler_actor& scheduler);

} // namespace troupe
