#pragma once

// This process's metrics: the users' (troupe/metrics.hpp) and those troupe
// records where they happen (how long tasks ran). The core actor sends them
// to the node's metrics server on each scrape (node_metrics.hpp).

#include <string_view>

#include <prometheus/registry.h>

#include "lib/protocol/metrics_codec.hpp"

namespace troupe::detail {

/// The registry of this process's metrics.
prometheus::Registry& process_registry();

/// Returns this process's metric families now.
metric_families collect_process_metrics();

/// Records that a task of function `name` ran `seconds` (and failed, with
/// `failed`): `troupe_task_duration_seconds{name}` and
/// `troupe_task_failures_total{name}`.
void observe_task(std::string_view name, double seconds, bool failed);

} // namespace troupe::detail
