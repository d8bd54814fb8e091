#include "lib/core/placement.hpp"

#include <cstddef>

#include <limits>
#include <stdexcept>
#include <string>

#include <doctest/doctest.h>

namespace troupe::detail {

namespace {

/// Converts to any member type: counts the fields of an aggregate.
struct any_field {
  template <class T>
  operator T() const;
};

template <class T, class... Fields>
constexpr std::size_t field_count() {
  if constexpr (requires { T{Fields{}..., any_field{}}; })
    return field_count<T, Fields..., any_field>();
  else
    return sizeof...(Fields);
}

// A new field in either option struct: if it says where work runs, add it to
// both structs, to `placement_options` and to `placement_of`, then count it
// here.
static_assert(field_count<task_options>() == 9,
              "5 placement fields, the name, generator_backpressure, max_retries, retry_exceptions");
static_assert(field_count<actor_options>() == 12,
              "5 placement fields, the name, its namespace, max_concurrency, detached, "
              "max_restarts, max_task_retries, isolation");

} // namespace

TEST_CASE("the same placement fields of a task and of an actor place them the same") {
  auto strategy = scheduling_strategy::on_node(3, true);
  task_options t{.num_cpus = 2,
                 .num_gpus = 1,
                 .memory = 1e9,
                 .resources = {{"accelerator", 0.5}},
                 .name = "t",
                 .strategy = strategy};
  actor_options a{.num_cpus = 2,
                  .num_gpus = 1,
                  .memory = 1e9,
                  .resources = {{"accelerator", 0.5}},
                  .name = "a",
                  .strategy = strategy};
  auto pt = placement_of(t);
  auto pa = placement_of(a);
  resource_map expected{{"CPU", 2}, {"GPU", 1}, {"memory", 1e9}, {"accelerator", 0.5}};
  CHECK(pt.resources == expected);
  CHECK(pa.resources == expected);
  CHECK(pt.strategy.type == scheduling_strategy::kind::node_affinity);
  CHECK(pa.strategy.node == 3);
  CHECK(pa.strategy.soft);
}

TEST_CASE("amounts of zero are left out of the resources") {
  CHECK(placement_of(task_options{.num_cpus = 0}).resources.empty());
  CHECK(placement_of(actor_options{}).resources.empty());
  CHECK(placement_of(task_options{}).resources == resource_map{{"CPU", 1}});
}

TEST_CASE("a custom resource named like a built-in one is overridden by the field") {
  task_options t{.num_cpus = 4, .resources = {{"CPU", 1}, {"disk", 2}}};
  CHECK(placement_of(t).resources == resource_map{{"CPU", 4}, {"disk", 2}});
}

TEST_CASE("a negative or infinite amount is refused with the resource's name") {
  // An infinite amount would hang the process that sends it: CAF 0.17 has
  // no end to its conversion of an infinite double.
  auto refused = [](auto options, const std::string& name) {
    try {
      placement_of(options);
      FAIL("accepted a bad amount of " << name);
    } catch (const std::invalid_argument& e) {
      CHECK(std::string{e.what()}.find("'" + name + "'") != std::string::npos);
    }
  };
  refused(task_options{.num_cpus = -1}, "num_cpus");
  refused(actor_options{.num_gpus = std::numeric_limits<double>::infinity()}, "num_gpus");
  refused(task_options{.memory = std::numeric_limits<double>::quiet_NaN()}, "memory");
  refused(task_options{.resources = {{"disk", -std::numeric_limits<double>::infinity()}}}, "disk");
}

} // namespace troupe::detail
