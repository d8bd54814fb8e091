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
//
// Memory is resident set size (RSS) summed over the processes it says.

#include <cstddef>
#include <string>
#include <vector>

namespace troupe::tools {

struct envelope_options {
  std::size_t actors = 100'000;
  std::size_t tasks = 1'000'000;
  std::size_t process_actors = 8; ///< measured to say how many would fit
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

/// Returns the RSS in bytes of process `pid` (0 when it is gone).
std::size_t rss_of(int pid);
/// Returns the pids of this process's descendants (an embedded cluster's
/// node daemon and its workers).
std::vector<int> descendants();
/// Returns the RSS in bytes summed over `pids`.
std::size_t rss_sum(const std::vector<int>& pids);

void light_actors(const envelope_options& o, std::vector<envelope_row>& out);
void process_actors(const envelope_options& o, std::vector<envelope_row>& out);
void queued_tasks(const envelope_options& o, std::vector<envelope_row>& out);

} // namespace envelope

} // namespace troupe::tools
