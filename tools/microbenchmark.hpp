#pragma once

// `troupe microbenchmark`: the figures of BENCHMARKS.md, measured on
// a real local cluster (or one given by address).

#include <string>

namespace troupe::tools {

/// The flags of `troupe microbenchmark`.
struct microbenchmark_options {
  bool quick = false;    ///< fewer rounds and smaller sizes: under 30 s
  bool json = false;     ///< one JSON object instead of `name value unit` lines
  std::string address;   ///< `host:port` of a running head; empty: embedded
  bool progress = false; ///< plain progress lines on stderr, on a terminal too
  std::string only;      ///< run only the workloads of figures containing this
  /// "default": troupe's figures (BENCHMARKS.md); "ray": Ray's own rows,
  /// as Ray runs them (tools/bench_ray.hpp).
  std::string suite = "default";
};

/// Runs every supported workload of the suite and prints one figure per
/// name (`unsupported` for the others): for the default suite the median of
/// its rounds, for the Ray suite the mean of its windows, as Ray prints.
/// Returns 0, or 1 if a workload failed (its figures print as `error`).
int run_microbenchmark(const microbenchmark_options& options);

} // namespace troupe::tools
