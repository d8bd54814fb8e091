// Chaos: a 4-node cluster (head + 3) runs nested tasks, actors that keep a
// log, and 1-20 MB objects passed between nodes, while a killer SIGKILLs a
// random worker every second and a random non-head node every 10 seconds
// (starting a fresh one). Every result must be right, every actor must have
// applied every call exactly once, nothing may hang, and no CPU may stay
// held. Seeded (TROUPE_CHAOS_SEED, printed); TROUPE_CHAOS_SECONDS runs
// rounds of the workload for that long (tools/chaos.sh: 10 minutes).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "lib/common/ask.hpp"
#include "lib/core/client.hpp"
#include "lib/protocol/status.hpp"
#include "tests/own_status.hpp"
#include "tests/process_helpers.hpp"
#include "tests/rendezvous.hpp"
#include "tests/three_nodes.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;
using troupe::test::eventually;
using troupe::test::temp_dir;

namespace {

constexpr int parents = 200;
constexpr int children_per_parent = 5;
constexpr int actor_count = 4;
constexpr int calls_per_actor = 500;
constexpr int blobs = 12;
constexpr int parents_in_flight = 16;

const troupe::task_options forever{.max_retries = -1};

int chaos_child(int parent, int child) {
  return parent * 10 + child;
}
TROUPE_REMOTE(chaos_child);

/// Submits its children and sums them.
int chaos_parent(int parent) {
  std::vector<troupe::object_ref<int>> refs;
  for (int c = 0; c < children_per_parent; ++c)
    refs.push_back(troupe::task(chaos_child, forever).remote(parent, c));
  int sum = 0;
  for (auto& r : refs)
    sum += troupe::get(r, 120s);
  return sum;
}
TROUPE_REMOTE(chaos_parent);

int expected_parent_sum(int parent) {
  int sum = 0;
  for (int c = 0; c < children_per_parent; ++c)
    sum += parent * 10 + c;
  return sum;
}

/// `bytes` pseudo-random bytes from `seed` (an LCG: the same anywhere).
std::vector<std::uint8_t> chaos_blob(std::uint64_t seed, std::int64_t bytes) {
  std::vector<std::uint8_t> v(static_cast<std::size_t>(bytes));
  auto x = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (auto& b : v) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    b = static_cast<std::uint8_t>(x >> 56);
  }
  return v;
}
TROUPE_REMOTE(chaos_blob);

std::uint64_t checksum(const std::vector<std::uint8_t>& v) {
  std::uint64_t h = 1469598103934665603ULL;
  for (auto b : v)
    h = (h ^ b) * 1099511628211ULL;
  return h ^ v.size();
}
TROUPE_REMOTE(checksum);

/// An actor whose state is a log file: each call's sequence number is
/// appended once. A rebuilt instance reads the log back, and a call sent
/// again after a crash (its first run may have been applied) is recognised.
class ledger {
public:
  explicit ledger(std::string path) : path_(std::move(path)) {
    std::ifstream in{path_};
    int seq = 0;
    while (in >> seq)
      last_ = seq;
  }
  /// Applies call `seq` (they come in order); returns how many calls were
  /// applied when it was: `seq` itself, or -1 for a call out of order.
  int apply(int seq) {
    if (seq <= last_)
      return seq; // applied before the crash; its answer was lost
    if (seq != last_ + 1)
      return -1;
    auto line = std::to_string(seq) + "\n";
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      throw std::runtime_error("cannot append to " + path_);
    ::close(fd);
    last_ = seq;
    return seq;
  }

private:
  std::string path_;
  int last_ = 0;
};

std::unique_ptr<ledger> make_ledger(std::string path) {
  return std::make_unique<ledger>(std::move(path));
}
TROUPE_REMOTE(make_ledger);
TROUPE_REMOTE(&ledger::apply);

std::vector<std::string> chaos_node_env(const std::string& head, const std::string& marker) {
  auto env = troupe::test::node_env("2", "", head);
  env.back() = "TROUPE_OBJECT_STORE_BYTES=" + std::to_string(256 << 20);
  env.push_back(marker);
  return env;
}

/// The cluster and the killer.
class chaos_cluster {
public:
  explicit chaos_cluster(std::uint64_t seed)
      : marker_("TROUPE_CHAOS_CLUSTER=" + std::to_string(::getpid())), rng_(seed),
        head_(chaos_node_env("", marker_)) {
    auto port = head_.ready_line();
    REQUIRE_MESSAGE(!port.empty(), "the head did not start");
    address_ = "127.0.0.1:" + port;
    for (int i = 0; i < 3; ++i)
      add_node();
    troupe::init({.address = address_});
  }

  ~chaos_cluster() {
    stop_killer();
    troupe::shutdown();
  }

  void start_killer() {
    killer_ = std::thread([this] { kill_loop(); });
  }

  void stop_killer() {
    {
      std::lock_guard guard{mutex_};
      stopping_ = true;
    }
    wake_.notify_all();
    if (killer_.joinable())
      killer_.join();
  }

  int workers_killed() const { return workers_killed_; }
  int nodes_killed() const { return nodes_killed_; }

private:
  void add_node() {
    auto n = std::make_unique<child_process>(chaos_node_env(address_, marker_));
    REQUIRE_MESSAGE(!n->ready_line(30s).empty(), "a node did not join");
    members_.push_back(std::move(n));
  }

  /// Worker processes of this cluster: its processes that are not nodes.
  std::vector<int> worker_pids() {
    std::set<int> nodes{head_.pid()};
    for (auto& m : members_)
      nodes.insert(m->pid());
    std::vector<int> out;
    for (auto pid : troupe::test::processes_with_env(marker_))
      if (!nodes.count(pid))
        out.push_back(pid);
    return out;
  }

  void kill_loop() {
    for (int tick = 1;; ++tick) {
      {
        std::unique_lock lock{mutex_};
        if (wake_.wait_for(lock, 1s, [this] { return stopping_; }))
          return;
      }
      if (tick % 10 == 0) {
        // A random member node, then a fresh one in its place.
        auto victim = std::uniform_int_distribution<std::size_t>(0, members_.size() - 1)(rng_);
        ::kill(members_[victim]->pid(), SIGKILL);
        members_.erase(members_.begin() + static_cast<std::ptrdiff_t>(victim));
        ++nodes_killed_;
        auto n = std::make_unique<child_process>(chaos_node_env(address_, marker_));
        if (!n->ready_line(30s).empty())
          members_.push_back(std::move(n));
        continue;
      }
      auto workers = worker_pids();
      if (workers.empty())
        continue;
      auto victim = workers[std::uniform_int_distribution<std::size_t>(0, workers.size() - 1)(rng_)];
      if (::kill(victim, SIGKILL) == 0)
        ++workers_killed_;
    }
  }

  std::string marker_;
  std::mt19937_64 rng_;
  child_process head_;
  std::string address_;
  std::vector<std::unique_ptr<child_process>> members_;
  std::thread killer_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<int> workers_killed_{0};
  std::atomic<int> nodes_killed_{0};
};

/// Prints what the driver's tasks and each node's scheduler are doing.
void describe_cluster() {
  auto& c = troupe::detail::client::get();
  for (auto& t : troupe::test::own_status().tasks)
    MESSAGE("task ", t.id, " ", t.name, " ", t.state, " on node ", t.node, " attempt ",
            t.attempt, " last failure: ", t.last_failure);
  auto control = troupe::from_json_text<troupe::control_store_status>(
    troupe::detail::ask<std::string>(c.system(), c.control_store(), 10s, "no answer",
                                     troupe::status_atom::value));
  for (auto& a : control.actors)
    if (a.state != "dead")
      MESSAGE("actor ", a.id, " ", a.name, " ", a.state, " on node ", a.node, ": ",
              a.death);
  for (auto& n : c.list_nodes().nodes)
    if (n.alive)
      MESSAGE("node ", n.node_id, " scheduler: ",
              troupe::detail::ask<std::string>(c.system(), n.scheduler, 10s, "no answer",
                                               troupe::status_atom::value));
}

/// One round of the workload; checks every result.
void run_round(std::uint64_t seed, const std::string& dir, int round) {
  std::mt19937_64 rng(seed + static_cast<std::uint64_t>(round));
  // Actors with a log each, called in order, all calls in flight at once.
  troupe::actor_options durable{.max_restarts = -1, .max_task_retries = -1};
  std::vector<troupe::actor_handle<ledger>> ledgers;
  std::vector<std::string> logs;
  for (int a = 0; a < actor_count; ++a) {
    logs.push_back(dir + "/ledger-" + std::to_string(round) + "-" + std::to_string(a));
    ledgers.push_back(troupe::actor(make_ledger, durable).remote(logs.back()));
  }
  std::vector<std::vector<troupe::object_ref<int>>> calls(actor_count);
  for (int seq = 1; seq <= calls_per_actor; ++seq)
    for (int a = 0; a < actor_count; ++a)
      calls[a].push_back(ledgers[a].task(&ledger::apply).remote(seq));
  // Objects between nodes: made by one task, read by another.
  std::vector<std::pair<troupe::object_ref<std::uint64_t>, std::uint64_t>> sums;
  for (int b = 0; b < blobs; ++b) {
    auto bytes = std::uniform_int_distribution<std::int64_t>(1 << 20, 20 << 20)(rng);
    auto blob_seed = rng();
    troupe::task_options spread = forever;
    spread.strategy = troupe::scheduling_strategy::spread();
    auto blob = troupe::task(chaos_blob, spread).remote(blob_seed, bytes);
    sums.emplace_back(troupe::task(checksum, spread).remote(blob),
                      checksum(chaos_blob(blob_seed, bytes)));
  }
  // Nested tasks, a window of parents at a time.
  std::vector<troupe::object_ref<int>> window;
  int next = 0, done = 0;
  while (done < parents) {
    while (next < parents && static_cast<int>(window.size()) < parents_in_flight)
      window.push_back(troupe::task(chaos_parent, forever).remote(next++));
    auto first = window.front();
    window.erase(window.begin());
    auto parent = done++;
    auto sum = -1;
    try {
      sum = troupe::get(first, 60s);
    } catch (const troupe::timeout_error&) {
      describe_cluster(); // what the parent waits for
      throw;
    }
    REQUIRE(sum == expected_parent_sum(parent));
  }
  for (auto& [ref, expected] : sums)
    CHECK(troupe::get(ref, 180s) == expected);
  for (int a = 0; a < actor_count; ++a) {
    bool in_order = true;
    try {
      for (int seq = 1; seq <= calls_per_actor; ++seq)
        in_order = in_order && troupe::get(calls[a][seq - 1], 180s) == seq;
    } catch (const troupe::timeout_error&) {
      describe_cluster(); // where the actor and its calls are
      throw;
    }
    CHECK_MESSAGE(in_order, "actor ", a, " answered a call out of order");
    // Every call applied exactly once, in order.
    std::ifstream in{logs[a]};
    std::vector<int> applied;
    for (int seq = 0; in >> seq;)
      applied.push_back(seq);
    bool exactly_once = static_cast<int>(applied.size()) == calls_per_actor;
    for (std::size_t i = 0; exactly_once && i < applied.size(); ++i)
      exactly_once = applied[i] == static_cast<int>(i) + 1;
    CHECK_MESSAGE(exactly_once, "actor ", a, "'s log holds ", applied.size(), " entries");
    troupe::kill(ledgers[a]);
  }
}

/// Returns whether every alive node has all its CPUs free.
bool all_cpus_free() {
  auto& c = troupe::detail::client::get();
  auto text = troupe::detail::ask<std::string>(c.system(), c.node().cluster, 10s,
                                               "the cluster scheduler did not answer",
                                               troupe::status_atom::value);
  auto st = troupe::from_json_text<troupe::cluster_scheduler_status>(text);
  for (auto& n : st.nodes)
    if (n.alive && n.available["CPU"] != n.total["CPU"])
      return false;
  return true;
}

std::uint64_t chaos_seed() {
  if (auto* s = std::getenv("TROUPE_CHAOS_SEED"))
    return std::stoull(s);
  return std::random_device{}();
}

} // namespace

TEST_CASE("chaos: workers and nodes killed at random lose no result and hold no CPU") {
  auto seed = chaos_seed();
  std::printf("chaos seed: %llu (TROUPE_CHAOS_SEED to repeat)\n",
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  auto seconds = std::getenv("TROUPE_CHAOS_SECONDS") ? std::stoi(std::getenv("TROUPE_CHAOS_SECONDS"))
                                                    : 20;
  temp_dir dir;
  chaos_cluster cluster{seed};
  // TROUPE_CHAOS_KILL=0: the same workload without faults, to compare.
  if (!std::getenv("TROUPE_CHAOS_KILL") || std::string{std::getenv("TROUPE_CHAOS_KILL")} != "0")
    cluster.start_killer();
  auto start = std::chrono::steady_clock::now();
  int rounds = 0;
  do {
    run_round(seed, dir.str(), rounds++);
  } while (std::chrono::steady_clock::now() - start < std::chrono::seconds(seconds));
  cluster.stop_killer();
  std::printf("chaos: %d round(s) in %.0f s; killed %d workers and %d nodes\n", rounds,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
              cluster.workers_killed(), cluster.nodes_killed());
  std::fflush(stdout);
  auto freed = eventually(all_cpus_free, 30s);
  if (!freed)
    describe_cluster();
  CHECK(freed);
}

