#pragma once

// The spilling workloads of `troupe microbenchmark`: a store much smaller
// than what is put into it writes objects to disk, and reads them back when
// they are got.

#include "tools/bench_workloads.hpp"

namespace troupe::tools {

/// Measures `spill_gigabytes` and `restore_gigabytes` as Ray's spilling
/// workload does: on a fresh embedded cluster with a 256 MiB store (one per
/// round, spilling to a folder of its own, removed after), 32 arrays of
/// 64 MiB (8 with `--quick`) put with every ref kept, then each got back and
/// one element checked. Each figure is the bytes over the wall time of its
/// puts or gets. Call while troupe is not initialised.
void measure_spill(const bench_config& cfg, bench_samples& out);

} // namespace troupe::tools
