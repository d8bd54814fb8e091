// The envelope's cluster part: N node daemons on this machine, started one
// after another as samples/cluster/local_cluster.sh starts them, then what
// they cost at idle, how fast a driver reads objects spread over all of
// them, the microbenchmark's task rows against them, and how soon a frozen
// and a killed node are noticed.
#include "tools/envelope.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>
#include <troupe/troupe.hpp>

#include "lib/common/process.hpp"
#include "tools/bench_support.hpp"

namespace troupe::tools {

/// `count` small values put in this node's store; their refs, owned here.
std::vector<troupe::object_ref<std::int64_t>> envelope_put_many(std::int64_t count) {
  std::vector<troupe::object_ref<std::int64_t>> refs;
  refs.reserve(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i)
    refs.push_back(troupe::put(std::int64_t{1}, {.in_store = true}));
  return refs;
}
TROUPE_REMOTE(envelope_put_many);

namespace envelope {

namespace {

using bench::clock_type;
using bench::seconds_since;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Runs `command` with a shell; returns its stdout (with its stderr when
/// `with_stderr`, else that goes to ours), throws with it when it fails.
std::string run_command(const std::string& command, bool with_stderr = true) {
  std::string out;
  auto* pipe = ::popen((command + (with_stderr ? " 2>&1" : "")).c_str(), "r");
  if (!pipe)
    throw std::runtime_error("cannot run " + command);
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, pipe))
    out.append(buf, n);
  if (::pclose(pipe) != 0)
    throw std::runtime_error(command + " failed:\n" + out);
  return out;
}

/// Returns the first match of `pattern`'s group 1 in `text`.
std::string find(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex{pattern}))
    throw std::runtime_error("no " + pattern + " in:\n" + text);
  return m[1];
}

/// Returns the anonymous resident memory of `pid` (its heap and stacks: not
/// the pages of the executable that other daemons share).
std::size_t anon_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  std::size_t kb = 0;
  while (in >> key) {
    if (key == "RssAnon:") {
      in >> kb;
      return kb * 1024;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

/// Bytes written and write calls of `pid` so far (sockets and files).
struct io_counts {
  double bytes = 0;
  double calls = 0;
};

io_counts io_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/io");
  io_counts c;
  std::string key;
  double value = 0;
  while (in >> key >> value) {
    if (key == "wchar:")
      c.bytes = value;
    else if (key == "syscw:")
      c.calls = value;
  }
  return c;
}

/// N node daemons started with `troupe start` in a runtime folder of their
/// own (their own token and `troupe stop`), stopped on destruction.
class node_cluster {
public:
  explicit node_cluster(std::string exe) : exe_(std::move(exe)) {
    char dir_template[] = "/tmp/troupe-envelope-nodes-XXXXXX";
    dir_ = ::mkdtemp(dir_template);
    if (auto* old = std::getenv("XDG_RUNTIME_DIR"))
      saved_runtime_ = old;
    // The daemons, `troupe stop` and this driver find the token there.
    ::setenv("XDG_RUNTIME_DIR", dir_.c_str(), 1);
    ::unsetenv("TROUPE_TOKEN");
    ::unsetenv("TROUPE_INSECURE");
  }

  ~node_cluster() {
    try {
      run_command(exe_ + " stop");
    } catch (const std::exception&) {
      for (auto pid : daemons)
        ::kill(pid, SIGKILL); // no daemon of this part outlives it
    }
    if (saved_runtime_)
      ::setenv("XDG_RUNTIME_DIR", saved_runtime_->c_str(), 1);
    else
      ::unsetenv("XDG_RUNTIME_DIR");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  node_cluster(const node_cluster&) = delete;
  node_cluster& operator=(const node_cluster&) = delete;

  /// Starts the head (the first call) or a node that joins it.
  void start_node(std::size_t cpus, std::size_t store_bytes) {
    auto flags = " --num-cpus " + std::to_string(cpus) + " --object-store-memory "
                 + std::to_string(store_bytes);
    auto out = address.empty() ? run_command(exe_ + " start --head" + flags)
                               : run_command(exe_ + " start --address " + address + flags);
    if (address.empty())
      address = find(out, R"(head started at (\S+))");
    daemons.push_back(std::stoi(find(out, R"(node pid (\d+))")));
  }

  /// The daemons and their workers.
  std::vector<int> processes() const {
    std::vector<int> all;
    for (auto pid : daemons) {
      all.push_back(pid);
      auto kids = descendants(pid);
      all.insert(all.end(), kids.begin(), kids.end());
    }
    return all;
  }

  std::string address;
  std::vector<int> daemons;

private:
  std::string exe_;
  std::string dir_;
  std::optional<std::string> saved_runtime_;
};

std::size_t alive_nodes() {
  std::size_t n = 0;
  for (auto& d : troupe::nodes())
    n += d.alive ? 1 : 0;
  return n;
}

/// Waits until the cluster counts `n` live nodes; returns the seconds taken.
double until_alive(std::size_t n, std::chrono::seconds limit) {
  auto t0 = clock_type::now();
  while (alive_nodes() != n) {
    if (clock_type::now() - t0 > limit)
      throw std::runtime_error("the cluster did not count " + std::to_string(n)
                               + " live nodes within " + std::to_string(limit.count()) + " s");
    std::this_thread::sleep_for(10ms); // polled: the head's view, from outside
  }
  return seconds_since(t0);
}

/// Writes per second of all the cluster's processes over `window`, at idle.
void idle_traffic(const node_cluster& c, std::chrono::seconds window,
                  std::vector<envelope_row>& out) {
  auto pids = c.processes();
  auto sum = [&] {
    io_counts total;
    for (auto pid : pids) {
      auto one = io_of(pid);
      total.bytes += one.bytes;
      total.calls += one.calls;
    }
    return total;
  };
  auto before = sum();
  auto t0 = clock_type::now();
  std::this_thread::sleep_for(window); // the window measured
  auto after = sum();
  auto took = seconds_since(t0);
  auto n = static_cast<double>(c.daemons.size());
  auto bytes = (after.bytes - before.bytes) / took;
  auto calls = (after.calls - before.calls) / took;
  auto procs = std::to_string(pids.size()) + " processes (daemons and workers)";
  out.push_back({"nodes_idle_bytes_written_per_s", bytes, "B/s",
                 "heartbeats and resource reports of " + procs});
  out.push_back({"nodes_idle_writes_per_s", calls, "/s", "write calls of " + procs});
  out.push_back({"nodes_idle_bytes_written_per_node_per_s", bytes / n, "B/s", ""});
}

/// One `get` of `count` refs to small values in the stores of all nodes,
/// spread evenly; returns refs per second.
double get_spread_refs(std::size_t count, const std::vector<troupe::node_id>& ids) {
  std::vector<troupe::object_ref<std::vector<troupe::object_ref<std::int64_t>>>> lists;
  for (auto id : ids) {
    auto fn = troupe::task(envelope_put_many,
                           {.num_cpus = 0, .strategy = scheduling_strategy::on_node(id)});
    lists.push_back(fn.remote(static_cast<std::int64_t>(count / ids.size())));
  }
  std::vector<troupe::object_ref<std::int64_t>> refs;
  for (auto& list : troupe::get(lists, 300s))
    refs.insert(refs.end(), list.begin(), list.end());
  auto t0 = clock_type::now();
  std::int64_t sum = 0;
  for (auto v : troupe::get(refs, 300s))
    sum += v;
  auto rate = static_cast<double>(refs.size()) / seconds_since(t0);
  if (sum != static_cast<std::int64_t>(refs.size()))
    throw std::runtime_error("get of spread refs: wrong values");
  return rate;
}

/// The microbenchmark's rows whose names hold `only`, run against the
/// cluster by a driver of their own, as `nodesN_<row>`.
void microbenchmark_rows(const std::string& exe, const node_cluster& c, const std::string& only,
                         const std::string& suite, bool quick, std::vector<envelope_row>& out) {
  auto json = run_command(exe + " microbenchmark --json --address " + c.address + " --suite "
                          + suite + " --only " + only + (quick ? " --quick" : ""),
                          false);
  auto doc = nlohmann::json::parse(json.substr(json.find('{')));
  auto prefix = "nodes" + std::to_string(c.daemons.size()) + "_";
  for (auto& [name, value] : doc.items())
    if (value.is_number())
      out.push_back({prefix + name, value.get<double>(), "",
                     "the microbenchmark's row against this cluster"});
    else if (value != "unsupported") // a row --only left out
      throw std::runtime_error("microbenchmark " + name + ": " + value.dump());
}

/// Stops `pid` with `signal`; returns the seconds until the head counts
/// `alive_after` live nodes.
double notice(int pid, int signal, std::size_t alive_after) {
  if (::kill(pid, signal) != 0)
    throw std::runtime_error("cannot signal node daemon " + std::to_string(pid));
  return until_alive(alive_after, 120s);
}

} // namespace

void nodes(const envelope_options& opts, std::vector<envelope_row>& out) {
  auto n = opts.quick ? std::min<std::size_t>(opts.nodes, 4) : opts.nodes;
  if (n < 3)
    throw std::runtime_error("--nodes must be at least 3 (one is frozen, one killed)");
  constexpr std::size_t store_bytes = 128 << 20; // 16 prefaulting stores of 30% RAM would not fit
  auto exe = detail::self_exe();
  node_cluster c{exe};
  auto t0 = clock_type::now();
  c.start_node(2, store_bytes);
  auto head_alone = anon_of(c.daemons[0]);
  auto half = std::max<std::size_t>(2, n / 2); // the smaller size: 2 daemons at least
  std::size_t head_at_half = 0;
  for (std::size_t i = 1; i < n; ++i) {
    c.start_node(2, store_bytes);
    if (i + 1 == half)
      head_at_half = anon_of(c.daemons[0]);
  }
  auto took = seconds_since(t0);
  auto label = std::to_string(n) + " node daemons";
  out.push_back({"nodes_cluster_start_s", took, "s", label + ", one after another"});
  auto per_node = [&](std::size_t rss, std::size_t k) {
    return (static_cast<double>(rss) - static_cast<double>(head_alone))
           / static_cast<double>(k - 1);
  };
  auto head_full = anon_of(c.daemons[0]);
  out.push_back({"nodes_head_bytes_per_node_" + std::to_string(half),
                 per_node(head_at_half, half), "B", "head heap growth / joined nodes"});
  out.push_back({"nodes_head_bytes_per_node_" + std::to_string(n), per_node(head_full, n), "B",
                 "head heap growth / joined nodes"});
  troupe::init({.address = c.address});
  until_alive(n, 60s);
  idle_traffic(c, opts.quick ? 2s : 10s, out);
  std::vector<troupe::node_id> ids;
  for (auto& d : troupe::nodes())
    ids.push_back(d.id);
  auto refs_n = opts.quick ? opts.refs / 10 : opts.refs;
  for (std::size_t refs : {refs_n / 10, refs_n})
    out.push_back({"nodes_get_spread_refs_per_s_" + std::to_string(refs),
                   get_spread_refs(refs, ids), "/s",
                   "one get of refs to values in the stores of " + label});
  microbenchmark_rows(exe, c, "tasks", "default", opts.quick, out);
  microbenchmark_rows(exe, c, "10k_refs", "ray", opts.quick, out);
  out.push_back({"nodes_notice_frozen_s", notice(c.daemons[n - 1], SIGSTOP, n - 1), "s",
                 "a node stopped with SIGSTOP: its heartbeats end"});
  out.push_back({"nodes_notice_killed_s", notice(c.daemons[n - 2], SIGKILL, n - 2), "s",
                 "a node killed with SIGKILL: its connections close"});
  ::kill(c.daemons[n - 1], SIGKILL);
  troupe::shutdown();
}

} // namespace envelope

} // namespace troupe::tools
