#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "lib/protocol/messages.hpp"

namespace troupe::detail {

class client;

/// Spawns the executor of a worker process.
executor_actor spawn_executor(caf::actor_system& sys, client& c);

/// A light actor (isolation shared) as its host process knows it.
struct light_actor_info {
  object_id id;
  std::uint32_t restarts = 0; ///< which build of it this is (0: the first)
  resource_map resources;     ///< held on this host until it ends
};

/// Returns the light actor whose call runs on this thread, or nullptr.
const light_actor_info* current_light_actor() noexcept;

/// Runs around each call of a light actor: `current_light_actor()` names it
/// meanwhile.
class light_call_scope {
public:
  explicit light_call_scope(const light_actor_info* actor) noexcept;
  ~light_call_scope();
  light_call_scope(const light_call_scope&) = delete;
  light_call_scope& operator=(const light_call_scope&) = delete;

private:
  const light_actor_info* before_;
};

/// After a light actor's call asked `exit_actor()`: clears the request and
/// tells the control store that it ended itself.
void end_light_actor(client& c, const light_actor_info& actor);

/// Makes `host` give the light actor's slot on this host back to the
/// node's scheduler when it terminates, however it does.
void release_slot_on_exit(client& c, caf::abstract_actor& host,
                          std::shared_ptr<const light_actor_info> actor);

/// Spawns the CAF actor that hosts an actor instance: one executor running
/// its methods in order, or, for `max_concurrency` > 1, that many executors
/// behind a router (each method call goes to the next one). An `async`
/// actor's host runs all its calls on one thread, up to `max_concurrency`
/// of them in flight (coroutine_host.hpp).
///
/// A light actor's host (`light` set) is a scheduled CAF actor: its calls
/// run on the process's thread pool and, idle, it holds no thread. With
/// `max_concurrency` > 1 a plain class's calls still get threads of their
/// own (calls that run at the same time need them).
executor_actor spawn_actor_host(caf::actor_system& sys, client& c,
                                std::shared_ptr<void> instance,
                                std::uint32_t max_concurrency, bool async,
                                std::shared_ptr<const light_actor_info> light = nullptr);

} // namespace troupe::detail
