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
  bool progress = false; ///< progress lines on stderr (always on a terminal)
  std::string only;      ///< run only the workloads of figures containing this
};

/// Runs every supported workload and prints one figure per BENCHMARKS.md
/// name (`unsupported` for the others). Returns 0, or 1 if a workload failed
/// (its figures print as `error`).
int run_microbenchmark(const microbenchmark_options& options);

} // namespace troupe::tools
