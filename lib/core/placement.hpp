#pragma once

// Where a task or an actor runs: the placement fields that `task_options`
// and `actor_options` share, turned into what the scheduler reads, in one
// place. The two option structs stay separate aggregates (see task.hpp);
// this concept keeps their placement fields the same.

#include <concepts>
#include <map>
#include <string>
#include <string_view>

#include "lib/protocol/fwd.hpp"
#include "scheduler/resources.hpp"
#include "troupe/actor.hpp"
#include "troupe/scheduling.hpp"
#include "troupe/task.hpp"

namespace troupe::detail {

/// Options that say where work runs: `num_cpus`, `num_gpus`, `memory`,
/// `resources` and `strategy`, of the types `task_options` declares them.
template <class T>
concept placement_options = requires(const T& o) {
  { o.num_cpus } -> std::same_as<const double&>;
  { o.num_gpus } -> std::same_as<const double&>;
  { o.memory } -> std::same_as<const double&>;
  { o.resources } -> std::same_as<const std::map<std::string, double>&>;
  { o.strategy } -> std::same_as<const scheduling_strategy&>;
};

static_assert(
    placement_options<task_options> && placement_options<actor_options>,
    "troupe: task_options and actor_options must keep the same placement fields");

/// What the scheduler needs to place a task: every resource it holds while
/// it runs (`CPU`, `GPU` and `memory` among them) and its strategy.
struct placement {
  resource_map resources;
  scheduling_strategy strategy;
};

/// Returns where work with options `o` runs. Amounts of zero are left out:
/// a task with `num_cpus = 0` holds no CPU. Throws std::invalid_argument for
/// an amount that is negative or not finite.
template <placement_options Options>
placement placement_of(const Options& o) {
  constexpr std::string_view what = "troupe: bad task or actor options";
  sched::check_amount("num_cpus", o.num_cpus, what);
  sched::check_amount("num_gpus", o.num_gpus, what);
  sched::check_amount("memory", o.memory, what);
  sched::check_amounts(o.resources, what);
  placement out{o.resources, o.strategy};
  if (o.num_cpus > 0)
    out.resources["CPU"] = o.num_cpus;
  if (o.num_gpus > 0)
    out.resources["GPU"] = o.num_gpus;
  if (o.memory > 0)
    out.resources["memory"] = o.memory;
  return out;
}

} // namespace troupe::detail
