#pragma once

// `troupe envelope`: how far one machine goes (BENCHMARKS.md, "The
// envelope"). Each part starts its own embedded cluster, pushes it to a
// size, prints what it measured, and stops it:
//
//   light actors   N light actors created and each called once: creations
//                  per second, RAM per actor at N/10 and N (linear?), then
//                  calls per second to random ones
//   process actors RAM per process actor, and how many fit in this
//                  machine's available memory
//   queued tasks   N tasks queued behind one unready argument by one driver:
//                  submissions per second, driver RAM per queued task at N/10
//                  and N, then the rate they run at once released
//   nodes          N node daemons started as local_cluster.sh does: start
//                  time, head RAM per node at N/2 and N, writes per second at
//                  idle, one get of refs spread over all of them (two sizes),
//                  the microbenchmark's task rows and Ray's 10k-refs row
//                  against them, time to notice a frozen and a killed node
//
// Memory is proportional set size (PSS) without the object store's shared
// memory, summed over the processes it says.

#include <cstddef>
#include <string>
#include <vector>

namespace troupe::tools {

struct envelope_options {
  std::size_t actors = 100'000;
  std::size_t tasks = 1'000'000;
  std::size_t process_actors = 8; ///< measured to say how many would fit
  std::size_t nodes = 16;         ///< node daemons of the cluster part
  std::size_t refs = 10'000;      ///< refs one get reads from all nodes
  std::size_t call_rounds = 3;    ///< rounds of random light calls (median printed)
  bool quick = false;             ///< a tenth of each size
  bool json = false;
  std::string only;               ///< parts whose name contains this
};

/// One printed figure.
struct envelope_row {
  std::string name;
  double value = 0;
  std::string unit;
  std::string note;
};

/// Runs the envelope's parts and prints their figures; returns the exit code.
int run_envelope(const envelope_options& opts);

namespace envelope {

/// Returns the PSS in bytes of process `pid` less its shared memory (the
/// object store's pages), 0 when it is gone.
std::size_t rss_of(int pid);
/// Returns the pids of the descendants of `root` (by default this process:
/// an embedded cluster's node daemon and its workers).
std::vector<int> descendants(int root = 0);
/// Returns the RSS in bytes summed over `pids`.
std::size_t rss_sum(const std::vector<int>& pids);

void light_actors(const envelope_options& o, std::vector<envelope_row>& out);
void process_actors(const envelope_options& o, std::vector<envelope_row>& out);
void queued_tasks(const envelope_options& o, std::vector<envelope_row>& out);
void nodes(const envelope_options& o, std::vector<envelope_row>& out);

} // namespace envelope

} // namespace troupe::tools
