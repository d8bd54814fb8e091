#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "lib/protocol/messages.hpp"

namespace troupe {

/// Where an actor is in its life (the head's control store decides):
///
///     pending --(1) up---------------------------> alive
///     pending --(2) constructor failed------------> dead
///     alive ----(3) its instance is down-----------> dying (cause not known yet)
///     dying ----(4) its worker's exit / 1 s later--> dead (the cause)
///     any ------(5) killed, its node died, or its
///                   creator is gone (not detached)-> dead
///     alive, dying -(6) crashed, node died, or killed
///                   with no_restart = false, while
///                   restarts are left and its
///                   creator lives ------------------> restarting (the creator
///                                                     rebuilds it)
///     restarting ---(7) up (the new instance) -------> alive
///     restarting ---(8) its rebuild crashed ---------> (6) again, or dead
enum class actor_phase { pending, alive, dying, restarting, dead };

/// Returns the phase's name, e.g. "alive".
const char* to_string(actor_phase p) noexcept;

/// An actor as the control store tracks it. Callers are named by their owner
/// ids (every process registers its core actor under one), so the directory
/// holds plain numbers and tests drive it without an actor system.
struct actor_entry {
  actor_record rec;
  actor_phase phase = actor_phase::pending;
  executor_actor instance; ///< receives the method calls (when alive)
  endpoint address;        ///< where callers connect to the instance's process
  core_actor core;         ///< the instance's process's core actor
  std::uint64_t worker_id = 0;
  bool kill_requested = false;
  bool kill_restarts = false;   ///< killed with no_restart = false
  std::string kill_reason;      ///< the death a kill gives it
  std::uint32_t restarts = 0;   ///< how often it was rebuilt
  error_info death;
  /// Its creation, kept to rebuild it when its creator is gone (empty when
  /// its creator could not hand it over).
  actor_creation creation;
  std::vector<std::uint64_t> waiters; ///< callers to tell when it settles
  /// Callers that resolved it: told when it dies. (A caller connected
  /// directly sees the instance go down itself, but only the control store
  /// learns why; a caller whose messages go through the nodes sees nothing,
  /// since CAF 0.17 tells a routed proxy nothing when the far process dies.)
  std::vector<std::uint64_t> subscribers;
};

/// Callers to tell how an actor is, and what to tell them.
struct actor_notice {
  std::vector<std::uint64_t> callers;
  actor_status status;
};

/// What an actor's death leads to.
struct actor_death {
  actor_notice notice;         ///< the callers to tell (restarting or dead)
  bool restarting = false;     ///< its creator is to rebuild it
  std::uint32_t restarts = 0;  ///< rebuilds before this one
};

/// How a living actor's worker ended.
struct actor_exit {
  object_id id;
  std::string why;
  bool restartable = false; ///< a crash, or a kill that allows a restart
};

/// The cluster's actors and their names, with the state machine above.
class actor_directory {
public:
  /// Records a new actor; refuses (name_taken) a name that a living actor in
  /// the same namespace has.
  registration add(const actor_record& rec);

  /// Returns the actor's entry, or nullptr. The caller may change it: it
  /// counts as changed (see take_changed).
  actor_entry* find(const object_id& id);

  /// Returns the living (pending or alive) actor named `name` in `ns`.
  const actor_entry* find_by_name(const std::string& name, const std::string& ns) const;

  /// (1, 7) Its instance is up on `worker_id`. Returns the callers waiting
  /// for it, or nothing when it was not pending or restarting.
  std::optional<actor_notice> up(const object_id& id, const executor_actor& instance,
                                 std::uint64_t worker_id, const endpoint& address = {},
                                 const core_actor& core = {});

  /// `caller` asks where the actor is: returns the answer for it now, or
  /// nothing when it is answered as the actor settles (pending or dying).
  /// A caller told "alive" is told again when it dies.
  std::optional<actor_notice> resolve(const object_id& id, std::uint64_t caller);

  /// (3) Its instance is down. Returns true when the actor is dying now: its
  /// worker's exit (or a timeout) settles why.
  bool instance_down(const object_id& id);

  /// (2, 4, 5) Settles the actor as dead because `why`. Returns the callers
  /// to tell (waiters and subscribers), or nothing when it was dead or
  /// unknown.
  std::optional<actor_notice> settle(const object_id& id, const std::string& why);

  /// Keeps the actor's creation (see actor_creation); false when the actor
  /// is unknown or not detached (one that is dies with its creator anyway).
  bool keep_creation(const actor_creation& c);

  /// (4, 6, 8) The actor died because `why`. When the death is
  /// `restartable` (a crash, its node's death, a kill that allows it), its
  /// `max_restarts` leave room and its creator is alive (or its creation was
  /// kept, for the head to rebuild it), it is restarting:
  /// the callers that knew it alive are told so (those waiting for it go on
  /// waiting). Otherwise it is dead, as `settle`. A creation whose worker
  /// crashed (pending) dies the same way. Nothing when it was dead or
  /// unknown.
  std::optional<actor_death> died(const object_id& id, const std::string& why,
                                  bool restartable, bool creator_alive);

  /// (4) The worker of living actors ended: returns each actor, why it died
  /// (killed, ended itself, or crashed) and whether that allows a restart;
  /// nothing for other workers. A process actor's worker holds one; an
  /// actor host, every light actor on it.
  std::vector<actor_exit> worker_exited(std::uint64_t worker_id,
                                        const process_exit& how) const;

  /// Creation number `restarts` of the actor finished on worker `worker_id`
  /// (its creator says so; its `up` may never arrive): the worker is its
  /// own, so that the worker's or its node's death is the actor's. Returns
  /// false when that creation is not the current one or the actor is up.
  bool built(const object_id& id, std::uint64_t worker_id, std::uint32_t restarts);
  /// Returns whether creation number `restarts` is the one the actor waits
  /// for (it is pending or restarting, rebuilt `restarts` times): a failure
  /// of an earlier one, told late, is stale.
  bool building(const object_id& id, std::uint32_t restarts) const;
  /// Records a kill (`no_restart`: for good) whose death says `why`. Returns
  /// the worker to kill now, or 0 when there is none yet (the actor is
  /// killed as soon as it is up) or it is dead already.
  std::uint64_t request_kill(const object_id& id, bool no_restart = true,
                             std::string why = "killed by troupe::kill");

  /// Returns the actors not yet dead whose worker runs on `node`.
  std::vector<object_id> on_node(std::uint64_t node) const;

  /// Returns the actors not yet dead, not detached, that `owner_id`'s
  /// process created: they die with it.
  std::vector<object_id> owned_by(std::uint64_t owner_id) const;

  /// Returns what a caller is told about the actor.
  static actor_status status_of(const object_id& id, const actor_entry* e);

  const std::map<object_id, actor_entry>& all() const noexcept { return actors_; }

  /// Persistence. From `track_changes(true)` on, the directory notes the
  /// actors it changed (or handed out through `find`), for the head to
  /// write; `take_changed` returns them once.
  void track_changes(bool on) noexcept { tracking_ = on; }
  std::vector<object_id> take_changed();
  /// Puts back an actor a restarted head loaded (its handles null; not a
  /// change). A living one waits in `pending` for its instance to be
  /// announced again, or for its death.
  void restore(actor_entry e);

private:
  /// The entry, not counted as changed.
  actor_entry* entry(const object_id& id);
  void changed(const object_id& id) {
    if (tracking_)
      changed_.insert(id);
  }
  bool tracking_ = false;
  std::set<object_id> changed_;
  std::map<object_id, actor_entry> actors_;
  std::map<std::pair<std::string, std::string>, object_id> names_; ///< (ns, name)
};

} // namespace troupe
