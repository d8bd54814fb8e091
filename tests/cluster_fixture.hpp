#pragma once

#include <troupe/troupe.hpp>

namespace troupe::test {

/// Starts an embedded local cluster for one test and always stops it, also
/// when the test fails.
class local_cluster {
public:
  explicit local_cluster(init_options opts = small()) { init(opts); }
  ~local_cluster() { shutdown(); }
  local_cluster(const local_cluster&) = delete;
  local_cluster& operator=(const local_cluster&) = delete;

  /// Returns options for a 2-CPU node with a 64 MiB store.
  static init_options small() {
    init_options o;
    o.num_cpus = 2;
    o.object_store_memory = 64ULL << 20;
    return o;
  }
};

} // namespace troupe::test
