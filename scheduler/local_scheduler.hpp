#pragma once

#include <cstdint>
#include <string>

#include <caf/typed_actor.hpp>

#include "lib/protocol/messages.hpp"

namespace troupe::sched {

struct scheduler_config {
  resource_map resources;      ///< the node's total resources
  std::string prestart_exe;    ///< start a pool for this executable at once
  std::size_t pool_size = 1;   ///< workers per job pool
  std::size_t max_workers = 64;
  std::size_t actor_hosts = 0;         ///< per job (0: one per CPU)
  std::size_t max_actors_per_host = 0; ///< light actors on one host (0: no limit)
};

local_scheduler_actor spawn_local_scheduler(caf::actor_system& sys,
                                            scheduler_config cfg);

} // namespace troupe::sched
