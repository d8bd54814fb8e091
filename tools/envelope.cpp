#include "tools/envelope.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <dirent.h>
#include <exception>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <string>
#include <unistd.h>
#include <vector>

#include <troupe/troupe.hpp>

#include "tools/bench_support.hpp"

namespace troupe::tools {

namespace {

using bench::clock_type;
using bench::seconds_since;
using namespace std::chrono_literals;

/// Returns the parent of `pid` (0 when it is gone).
int parent_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line))
    return 0;
  // pid (comm) state ppid ...: comm may hold spaces, so skip past its ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest(line.substr(close + 2));
  char state = 0;
  int ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

} // namespace

namespace envelope {

std::size_t rss_of(int pid) {
  // PSS: a page shared by N processes counts 1/N in each, so that a sum
  // over processes is what they take together (libraries counted once).
  // Less the shared memory (Pss_Shmem): the node's object store, whose
  // pages its prefaulter brings in on its own time, is no process's cost
  // per actor or task (it made the head's figure grow with the clock).
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string key;
  std::size_t pss = 0, shmem = 0;
  while (in >> key) {
    if (key == "Pss:")
      in >> pss;
    else if (key == "Pss_Shmem:")
      in >> shmem;
    in.ignore(1 << 16, '\n');
  }
  return (pss - std::min(pss, shmem)) * 1024;
}

std::vector<int> descendants(int root) {
  std::map<int, int> parents;
  if (auto* dir = ::opendir("/proc")) {
    while (auto* e = ::readdir(dir)) {
      int pid = std::atoi(e->d_name);
      if (pid > 0)
        parents[pid] = parent_of(pid);
    }
    ::closedir(dir);
  }
  std::vector<int> out;
  std::vector<int> frontier{root != 0 ? root : static_cast<int>(::getpid())};
  while (!frontier.empty()) {
    auto p = frontier.back();
    frontier.pop_back();
    for (auto& [pid, ppid] : parents)
      if (ppid == p) {
        out.push_back(pid);
        frontier.push_back(pid);
      }
  }
  return out;
}

std::size_t rss_sum(const std::vector<int>& pids) {
  std::size_t total = 0;
  for (auto pid : pids)
    total += rss_of(pid);
  return total;
}

} // namespace envelope

/// A task that waits until `path` exists: the gate the queued tasks wait on.
std::int64_t envelope_gate(std::string path) {
  while (::access(path.c_str(), F_OK) != 0)
    std::this_thread::sleep_for(5ms); // a file from another process: polled
  return 1;
}
TROUPE_REMOTE(envelope_gate);

std::int64_t envelope_after(std::int64_t gate) {
  return gate;
}
TROUPE_REMOTE(envelope_after);

namespace envelope {

void queued_tasks(const envelope_options& opts, std::vector<envelope_row>& out) {
  auto n = opts.quick ? opts.tasks / 10 : opts.tasks;
  troupe::init();
  char dir_template[] = "/tmp/troupe-envelope-XXXXXX";
  std::string dir = ::mkdtemp(dir_template);
  auto open = dir + "/open";
  auto gate = troupe::task(envelope_gate).remote(open);
  auto fn = troupe::task(envelope_after);
  std::vector<troupe::object_ref<std::int64_t>> refs;
  refs.reserve(n);
  fn.remote(gate); // the first submission's one-time costs go first
  auto self = static_cast<int>(::getpid());
  auto base = rss_of(self);
  auto t0 = clock_type::now();
  for (std::size_t i = 0; i < n / 10; ++i)
    refs.push_back(fn.remote(gate));
  auto tenth = rss_of(self);
  for (std::size_t i = n / 10; i < n; ++i)
    refs.push_back(fn.remote(gate));
  auto took = seconds_since(t0);
  auto full = rss_of(self);
  out.push_back({"queued_task_submissions_per_s", static_cast<double>(n) / took, "/s",
                 std::to_string(n) + " tasks waiting on one unready argument"});
  auto per = [&](std::size_t rss, std::size_t count) {
    return (static_cast<double>(rss) - static_cast<double>(base)) / static_cast<double>(count);
  };
  out.push_back({"queued_task_driver_bytes_each_" + std::to_string(n / 10),
                 per(tenth, n / 10), "B", "driver PSS growth / queued tasks"});
  out.push_back({"queued_task_driver_bytes_each_" + std::to_string(n), per(full, n), "B",
                 "driver PSS growth / queued tasks"});
  std::ofstream{open} << "go";
  t0 = clock_type::now();
  std::int64_t sum = 0;
  for (auto v : troupe::get(refs, 900s))
    sum += v;
  if (sum != static_cast<std::int64_t>(n))
    throw std::runtime_error("queued tasks: wrong results");
  out.push_back({"queued_tasks_drained_per_s", static_cast<double>(n) / seconds_since(t0),
                 "/s", "once the argument is ready: run, results got"});
  refs.clear();
  ::unlink(open.c_str());
  ::rmdir(dir.c_str());
  troupe::shutdown();
}

} // namespace envelope

namespace {

void print(const std::vector<envelope_row>& rows, bool json) {
  if (json) {
    std::cout << "{";
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::cout << (i ? ", " : "") << '"' << rows[i].name << "\": " << rows[i].value;
    std::cout << "}\n";
    return;
  }
  for (auto& r : rows) {
    char value[64];
    std::snprintf(value, sizeof value, r.value >= 100 ? "%.0f" : "%.2f", r.value);
    std::printf("%-52s %12s %-7s %s\n", r.name.c_str(), value, r.unit.c_str(),
                r.note.c_str());
  }
  std::fflush(stdout);
}

} // namespace

int run_envelope(const envelope_options& opts) {
  struct part {
    const char* name;
    void (*run)(const envelope_options&, std::vector<envelope_row>&);
  };
  const part parts[] = {{"light_actors", envelope::light_actors},
                        {"process_actors", envelope::process_actors},
                        {"queued_tasks", envelope::queued_tasks},
                        {"nodes", envelope::nodes}};
  int failed = 0;
  std::vector<envelope_row> all;
  for (auto& p : parts) {
    if (!opts.only.empty() && std::string{p.name}.find(opts.only) == std::string::npos)
      continue;
    std::vector<envelope_row> rows;
    if (!opts.json)
      std::cerr << "envelope: " << p.name << "...\n";
    try {
      p.run(opts, rows);
    } catch (const std::exception& e) {
      troupe::shutdown();
      std::cerr << "envelope: " << p.name << " failed: " << e.what() << "\n";
      ++failed;
    }
    if (!opts.json)
      print(rows, false);
    all.insert(all.end(), rows.begin(), rows.end());
  }
  if (opts.json)
    print(all, true);
  return failed == 0 ? 0 : 1;
}

} // namespace troupe::tools
