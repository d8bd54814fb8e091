#include "tools/bench_workloads.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include <troupe/troupe.hpp>
#include <csignal>

#include "lib/common/process.hpp"

namespace troupe::tools {

namespace {

/// Sums `n` values with eight independent partial sums, as numpy's pairwise
/// sum does: one running sum waits on each add's latency and would measure
/// the adder (8 GB/s here, 11-12 GB/s with eight sums), not how fast the
/// store hands out the bytes.
double fast_sum(const double* xs, std::size_t n) {
  double part[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k)
      part[k] += xs[i + static_cast<std::size_t>(k)];
  for (; i < n; ++i)
    part[0] += xs[i];
  return ((part[0] + part[1]) + (part[2] + part[3])) +
         ((part[4] + part[5]) + (part[6] + part[7]));
}

} // namespace

// --- tasks ------------------------------------------------------------------
// Registered here so that the troupe executable, which is also its own
// worker, can run them wherever the benchmark's driver is.

/// The no-op task: returns a small value.
std::int64_t bench_noop() {
  return 1;
}
TROUPE_REMOTE(bench_noop);

std::int64_t bench_inc(std::int64_t x) {
  return x + 1;
}
TROUPE_REMOTE(bench_inc);

std::int64_t bench_add(std::int64_t a, std::int64_t b) {
  return a + b;
}
TROUPE_REMOTE(bench_add);

/// Returns an array of `n` ones (made where the task runs, kept in that
/// node's store).
troupe::shared_array<double> bench_ones(std::uint64_t n) {
  return troupe::shared_array<double>(std::vector<double>(n, 1.0));
}
TROUPE_REMOTE(bench_ones);

/// Sums an array in place (in shared memory when the ref is on this node).
double bench_sum(troupe::shared_array<double> xs) {
  return fast_sum(xs.data(), xs.size());
}
TROUPE_REMOTE(bench_sum);

/// Returns the pid of the process that runs it: the warm-up checks that
/// tasks really run in workers, not in the driver.
std::int64_t bench_pid() {
  return ::getpid();
}
TROUPE_REMOTE(bench_pid);

/// One client of multi_client_tasks_async: submits `n` no-ops, gets all.
std::int64_t bench_client_tasks(std::int64_t n) {
  auto f = troupe::task(bench_noop);
  std::vector<troupe::object_ref<std::int64_t>> refs;
  refs.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    refs.push_back(f.remote());
  std::int64_t total = 0;
  for (auto v : troupe::get(refs, std::chrono::seconds(60)))
    total += v;
  return total;
}
TROUPE_REMOTE(bench_client_tasks);

/// One client of multi_client_put_calls: puts `n` small values.
std::int64_t bench_client_puts(std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    (void)troupe::put(i);
  return n;
}
TROUPE_REMOTE(bench_client_puts);

// --- actors -----------------------------------------------------------------

/// The benchmark actor: methods are no-ops returning a small value.
class bench_actor {
public:
  std::int64_t noop() { return 1; }
  /// Takes a small argument (sent as an object ref) and returns it.
  std::int64_t echo(std::int64_t x) { return x; }
};

std::unique_ptr<bench_actor> make_bench_actor() {
  return std::make_unique<bench_actor>();
}
TROUPE_REMOTE(make_bench_actor);
TROUPE_REMOTE(&bench_actor::noop);
TROUPE_REMOTE(&bench_actor::echo);

/// One caller of n_n_actor_calls_async: `batches` times, `n` calls to its
/// actor, then get all. Returns the sum of the results (batches * n).
std::int64_t bench_client_actor_calls(troupe::actor_handle<bench_actor> a, std::int64_t n,
                                      std::int64_t batches) {
  auto m = a.task(&bench_actor::noop);
  std::int64_t total = 0;
  std::vector<troupe::object_ref<std::int64_t>> refs;
  refs.reserve(static_cast<std::size_t>(n));
  for (std::int64_t b = 0; b < batches; ++b) {
    refs.clear();
    for (std::int64_t i = 0; i < n; ++i)
      refs.push_back(m.remote());
    for (auto v : troupe::get(refs, std::chrono::seconds(60)))
      total += v;
  }
  return total;
}
TROUPE_REMOTE(bench_client_actor_calls);

/// One caller of n_n_actor_calls_with_arg_async: as above, each call takes
/// the ref of a small value put by the caller (as Ray's benchmark does).
std::int64_t bench_client_actor_calls_arg(troupe::actor_handle<bench_actor> a,
                                          std::int64_t n, std::int64_t batches) {
  auto m = a.task(&bench_actor::echo);
  auto x = troupe::put(std::int64_t{1});
  std::int64_t total = 0;
  std::vector<troupe::object_ref<std::int64_t>> refs;
  refs.reserve(static_cast<std::size_t>(n));
  for (std::int64_t b = 0; b < batches; ++b) {
    refs.clear();
    for (std::int64_t i = 0; i < n; ++i)
      refs.push_back(m.remote(x));
    for (auto v : troupe::get(refs, std::chrono::seconds(60)))
      total += v;
  }
  return total;
}
TROUPE_REMOTE(bench_client_actor_calls_arg);

namespace {

using clock_type = std::chrono::steady_clock;
using int_ref = troupe::object_ref<std::int64_t>;

constexpr int num_clients = 4;

/// Clients block in `get` most of the time: like Ray's benchmark actors they
/// take no CPU, so that all four run on a 2-core node.
const troupe::task_options client_options{.num_cpus = 0};

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Returns the nearest-rank percentile `p` (0..1) of `xs`.
double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(xs.size())));
  return xs[std::clamp<std::size_t>(rank, 1, xs.size()) - 1];
}

/// Calls `step` up to `max_steps` times or until `budget_s` seconds pass;
/// returns steps per second. The budget bounds the run on a slow library.
template <class F>
double rate(std::size_t max_steps, double budget_s, F&& step) {
  auto t0 = clock_type::now();
  std::size_t n = 0;
  while (n < max_steps && (n == 0 || seconds_since(t0) < budget_s)) {
    step();
    ++n;
  }
  return static_cast<double>(n) / seconds_since(t0);
}

void check(bool ok, const char* what) {
  if (!ok)
    throw std::runtime_error(std::string{"wrong result: "} + what);
}

std::vector<int_ref> submit_noops(std::size_t n) {
  auto f = troupe::task(bench_noop);
  std::vector<int_ref> refs;
  refs.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    refs.push_back(f.remote());
  return refs;
}

void get_all(const std::vector<int_ref>& refs, const bench_config& cfg) {
  auto values = troupe::get(refs, cfg.timeout);
  check(std::accumulate(values.begin(), values.end(), std::int64_t{0}) ==
            static_cast<std::int64_t>(refs.size()),
        "no-op results");
}

/// Rounds of sync calls (`call` submits one and gets it): the rate and the
/// latency percentiles, under the names given.
template <class Call>
void sync_rounds(const bench_config& cfg, bench_samples& out, const char* rate_name,
                 const char* p50_name, const char* p99_name, Call call) {
  auto max_calls = cfg.pick<std::size_t>(2000, 300);
  auto budget = cfg.pick(2.0, 0.5);
  for (int r = 0; r < cfg.rounds; ++r) {
    std::vector<double> latencies;
    latencies.reserve(max_calls);
    auto per_s = rate(max_calls, budget, [&] {
      auto t = clock_type::now();
      call();
      latencies.push_back(seconds_since(t) * 1e6);
    });
    out[rate_name].push_back(per_s);
    out[p50_name].push_back(percentile(latencies, 0.50));
    out[p99_name].push_back(percentile(latencies, 0.99));
  }
}

void tasks_sync(const bench_config& cfg, bench_samples& out) {
  auto f = troupe::task(bench_noop);
  sync_rounds(cfg, out, "single_client_tasks_sync", "task_roundtrip_p50_us",
              "task_roundtrip_p99_us",
              [&] { check(troupe::get(f.remote(), cfg.timeout) == 1, "no-op result"); });
}

void tasks_async(const bench_config& cfg, bench_samples& out) {
  // One cycle takes ~20 ms: a round of several is less at the mercy of noise.
  auto cycles = cfg.pick(5, 1);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    for (int c = 0; c < cycles; ++c)
      get_all(submit_noops(1000), cfg);
    out["single_client_tasks_async"].push_back(cycles * 1000 / seconds_since(t0));
  }
}

void multi_client_tasks(const bench_config& cfg, bench_samples& out) {
  auto client = troupe::task(bench_client_tasks, client_options);
  const std::int64_t per_client = 1000;
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    std::vector<int_ref> clients;
    for (int c = 0; c < num_clients; ++c)
      clients.push_back(client.remote(per_client));
    for (auto v : troupe::get(clients, cfg.timeout))
      check(v == per_client, "client task result");
    out["multi_client_tasks_async"].push_back(num_clients * per_client /
                                              seconds_since(t0));
  }
}

void tasks_and_get_batch(const bench_config& cfg, bench_samples& out) {
  auto batches = cfg.pick(3, 1);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    for (int b = 0; b < batches; ++b)
      get_all(submit_noops(1000), cfg);
    out["single_client_tasks_and_get_batch"].push_back(batches / seconds_since(t0));
  }
}

void put_calls(const bench_config& cfg, bench_samples& out) {
  std::int64_t i = 0;
  for (int r = 0; r < cfg.rounds; ++r)
    out["single_client_put_calls"].push_back(rate(cfg.pick<std::size_t>(20000, 3000),
                                                  cfg.pick(1.0, 0.3),
                                                  [&] { (void)troupe::put(i++); }));
}

void get_calls(const bench_config& cfg, bench_samples& out) {
  auto ref = troupe::put(std::int64_t{7});
  for (int r = 0; r < cfg.rounds; ++r)
    out["single_client_get_calls"].push_back(
        rate(cfg.pick<std::size_t>(20000, 3000), cfg.pick(1.0, 0.3),
             [&] { check(troupe::get(ref, cfg.timeout) == 7, "got value"); }));
}

void multi_client_puts(const bench_config& cfg, bench_samples& out) {
  auto client = troupe::task(bench_client_puts, client_options);
  std::int64_t per_client = cfg.pick(10000, 2000);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    std::vector<int_ref> clients;
    for (int c = 0; c < num_clients; ++c)
      clients.push_back(client.remote(per_client));
    for (auto v : troupe::get(clients, cfg.timeout))
      check(v == per_client, "client task result");
    out["multi_client_put_calls"].push_back(num_clients * per_client / seconds_since(t0));
  }
}

void put_gigabytes(const bench_config& cfg, bench_samples& out) {
  std::vector<double> big(cfg.big_bytes / sizeof(double), 1.0);
  auto bytes = static_cast<double>(big.size() * sizeof(double));
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    auto ref = troupe::put(big);
    out["single_client_put_gigabytes"].push_back(bytes / seconds_since(t0) / 1e9);
    // `ref` dies here: the store frees the object before the next round.
  }
}

void wait_1k_refs(const bench_config& cfg, bench_samples& out) {
  std::vector<int_ref> refs;
  for (std::int64_t i = 0; i < 1000; ++i)
    refs.push_back(troupe::put(i));
  for (int r = 0; r < cfg.rounds; ++r)
    out["single_client_wait_1k_refs"].push_back(
        rate(cfg.pick<std::size_t>(1000, 200), cfg.pick(1.0, 0.3), [&] {
          check(troupe::wait(refs, refs.size(), cfg.timeout).ready.size() == 1000,
                "all refs ready");
        }));
}

void get_object_with_10k_refs(const bench_config& cfg, bench_samples& out) {
  std::vector<int_ref> refs;
  for (std::int64_t i = 0; i < 10'000; ++i)
    refs.push_back(troupe::put(i));
  auto holder = troupe::put(refs); // one object holding 10,000 refs
  for (int r = 0; r < cfg.rounds; ++r)
    out["single_client_get_object_containing_10k_refs"].push_back(
        rate(cfg.pick<std::size_t>(200, 30), cfg.pick(1.0, 0.3), [&] {
          check(troupe::get(holder, cfg.timeout).size() == 10'000, "10k refs back");
        }));
}

void chain_tasks(const bench_config& cfg, bench_samples& out) {
  auto f = troupe::task(bench_inc);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    auto ref = f.remote(std::int64_t{0});
    for (int i = 1; i < 1000; ++i)
      ref = f.remote(ref);
    check(troupe::get(ref, cfg.timeout) == 1000, "chain result");
    out["chain_1000_tasks"].push_back(1000 / seconds_since(t0));
  }
}

void tree_reduce(const bench_config& cfg, bench_samples& out) {
  auto add = troupe::task(bench_add);
  for (int r = 0; r < cfg.rounds; ++r) {
    std::vector<int_ref> level;
    for (std::int64_t i = 0; i < 1024; ++i)
      level.push_back(troupe::put(i));
    auto t0 = clock_type::now();
    while (level.size() > 1) {
      std::vector<int_ref> next;
      for (std::size_t i = 0; i + 1 < level.size(); i += 2)
        next.push_back(add.remote(level[i], level[i + 1]));
      level = std::move(next);
    }
    check(troupe::get(level.front(), cfg.timeout) == 1023 * 1024 / 2, "tree sum");
    out["tree_reduce_1024_s"].push_back(seconds_since(t0));
  }
}

void large_arg(const bench_config& cfg, bench_samples& out) {
  constexpr std::size_t n = 100'000'000 / sizeof(double);
  auto ref = troupe::put(std::vector<double>(n, 1.0));
  auto sum = troupe::task(bench_sum);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    check(troupe::get(sum.remote(ref), cfg.timeout) == static_cast<double>(n),
          "array sum");
    out["large_arg_100mb_s"].push_back(seconds_since(t0));
  }
}

void get_large(const bench_config& cfg, bench_samples& out) {
  auto n = cfg.big_bytes / sizeof(double);
  auto ref = troupe::put(std::vector<double>(n, 1.0));
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    auto view = troupe::get_view(ref);
    // Summing reads every byte: a view alone would measure nothing.
    auto total = fast_sum(view.data(), view.size());
    auto took = seconds_since(t0);
    check(total == static_cast<double>(n), "array sum");
    out["get_large_gigabytes"].push_back(static_cast<double>(n * sizeof(double)) / took /
                                         1e9);
  }
}

/// Keeps a second node daemon for the cross-node figure when the cluster has
/// only one: a child of this process that joins the head, stopped after.
class extra_node {
public:
  extra_node() {
    auto nodes = troupe::nodes();
    if (std::count_if(nodes.begin(), nodes.end(), [](auto& n) { return n.alive; }) > 1)
      return;
    pid_ = detail::spawn_process(
      detail::self_exe(), {"--troupe-node"},
      {"TROUPE_ROLE=node", "TROUPE_NUM_CPUS=1", "TROUPE_HEAD_ADDRESS=" + nodes.front().address,
       "TROUPE_OBJECT_STORE_BYTES=" + std::to_string(1ULL << 30), "TROUPE_READY_FD=-1",
       "TROUPE_PORT=0", "TROUPE_BIND=127.0.0.1", "TROUPE_RESOURCES=", "TROUPE_WORKER_EXE="});
    auto until = clock_type::now() + std::chrono::seconds(20);
    while (troupe::nodes().size() <= nodes.size()) {
      if (clock_type::now() > until)
        throw std::runtime_error("the extra node for the cross-node figure did not join");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~extra_node() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGTERM);
    if (detail::wait_child(pid_, 5000) < 0) {
      ::kill(pid_, SIGKILL);
      detail::wait_child(pid_, 2000);
    }
  }
  extra_node(const extra_node&) = delete;
  extra_node& operator=(const extra_node&) = delete;

private:
  int pid_ = -1;
};

/// A 400 MB array made by a task on another node, got by the driver: this
/// node's store manager pulls it in chunks from the other's.
void cross_node_put_get(const bench_config& cfg, bench_samples& out) {
  extra_node extra;
  auto here = troupe::current_node_id();
  troupe::node_id there = 0;
  for (auto& n : troupe::nodes())
    if (n.alive && n.id != here)
      there = n.id;
  check(there != 0, "a second alive node");
  troupe::task_options on_there;
  on_there.strategy = troupe::scheduling_strategy::on_node(there);
  on_there.num_cpus = 0;
  auto n = cfg.big_bytes / sizeof(double);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto ref = troupe::task(bench_ones, on_there).remote(std::uint64_t{n});
    check(troupe::wait(std::vector{ref}, 1, cfg.timeout).ready.size() == 1,
          "the array was made in time");
    auto t0 = clock_type::now();
    auto view = troupe::get_view(ref);
    auto took = seconds_since(t0);
    check(view.size() == n && view[n - 1] == 1.0, "the array arrived whole");
    out["cross_node_put_get_gigabytes"].push_back(static_cast<double>(n * sizeof(double))
                                                  / took / 1e9);
  }
}

/// Creates, waits for and removes one-bundle placement groups.
void placement_groups(const bench_config& cfg, bench_samples& out) {
  auto per_round = cfg.pick(200, 50);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    for (int i = 0; i < per_round; ++i) {
      auto pg = troupe::create_placement_group({{{"CPU", 1}}});
      check(pg.wait(cfg.timeout), "the placement group was placed");
      troupe::remove_placement_group(pg);
    }
    out["placement_group_create_removal"].push_back(per_round / seconds_since(t0));
  }
}

// --- actor workloads --------------------------------------------------------

using actor_ref = troupe::actor_handle<bench_actor>;

/// The n of the 1:n and n:n figures: the node's cores.
std::size_t num_cores() {
  return std::max(1U, std::thread::hardware_concurrency());
}

/// Creates `count` benchmark actors (0 CPUs each) and waits until each has
/// answered one call, so that no timed loop includes their start-up.
std::vector<actor_ref> start_actors(const bench_config& cfg, std::size_t count,
                                    troupe::actor_options opts = {}) {
  std::vector<actor_ref> actors;
  std::vector<int_ref> first;
  try {
    for (std::size_t i = 0; i < count; ++i) {
      actors.push_back(troupe::actor(make_bench_actor, opts).remote());
      first.push_back(actors.back().task(&bench_actor::noop).remote());
    }
    get_all(first, cfg);
  } catch (...) {
    for (auto& a : actors)
      troupe::kill(a); // their workers go back to the node
    throw;
  }
  return actors;
}

/// Kills the actors and waits until each is known dead (a call fails with
/// actor_died_error), so that their worker processes are gone before the
/// next round starts more: the node caps its workers.
void kill_actors(const bench_config& cfg, std::vector<actor_ref>& actors) {
  for (auto& a : actors)
    troupe::kill(a);
  for (auto& a : actors) {
    try {
      (void)troupe::get(a.task(&bench_actor::noop).remote(), cfg.timeout);
      throw std::runtime_error("a killed actor still answers calls");
    } catch (const troupe::actor_died_error&) {
    }
  }
  actors.clear();
}

/// Runs `body(actors)` on fresh actors and kills them afterwards, also when
/// `body` throws.
template <class F>
void with_actors(const bench_config& cfg, std::size_t count, troupe::actor_options opts,
                 F&& body) {
  auto actors = start_actors(cfg, count, std::move(opts));
  try {
    body(actors);
  } catch (...) {
    for (auto& a : actors)
      troupe::kill(a);
    throw;
  }
  kill_actors(cfg, actors);
}

/// Submits `n` no-op calls spread round-robin over `actors`.
std::vector<int_ref> submit_actor_noops(const std::vector<actor_ref>& actors,
                                        std::size_t n) {
  std::vector<troupe::actor_method<std::int64_t>> methods;
  for (auto& a : actors)
    methods.push_back(a.task(&bench_actor::noop));
  std::vector<int_ref> refs;
  refs.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    refs.push_back(methods[i % methods.size()].remote());
  return refs;
}

void actor_calls_sync(const bench_config& cfg, bench_samples& out) {
  with_actors(cfg, 1, {}, [&](std::vector<actor_ref>& actors) {
    auto m = actors.front().task(&bench_actor::noop);
    sync_rounds(cfg, out, "1_1_actor_calls_sync", "actor_call_p50_us", "actor_call_p99_us",
                [&] {
                  check(troupe::get(m.remote(), cfg.timeout) == 1, "no-op call result");
                });
  });
}

/// `figure`: one caller (the driver) makes 1,000 calls spread over the
/// actors, then gets all; a round is `cycles` of these. A cycle takes only
/// a few ms here: a round of many is less at the mercy of noise.
void actor_calls_async_on(const bench_config& cfg, bench_samples& out,
                          const char* figure, std::size_t num_actors,
                          troupe::actor_options opts) {
  auto cycles = cfg.pick(20, 5);
  with_actors(cfg, num_actors, std::move(opts), [&](std::vector<actor_ref>& actors) {
    for (int r = 0; r < cfg.rounds; ++r) {
      auto t0 = clock_type::now();
      for (int c = 0; c < cycles; ++c)
        get_all(submit_actor_noops(actors, 1000), cfg);
      out[figure].push_back(cycles * 1000 / seconds_since(t0));
    }
  });
}

void actor_calls_async(const bench_config& cfg, bench_samples& out) {
  actor_calls_async_on(cfg, out, "1_1_actor_calls_async", 1, {});
}

void actor_calls_concurrent(const bench_config& cfg, bench_samples& out) {
  troupe::actor_options opts;
  opts.max_concurrency = 16;
  actor_calls_async_on(cfg, out, "1_1_actor_calls_concurrent", 1, opts);
}

void actor_calls_1_n(const bench_config& cfg, bench_samples& out) {
  actor_calls_async_on(cfg, out, "1_n_actor_calls_async", num_cores(), {});
}

/// n callers (tasks of 0 CPUs), each with an actor of its own whose handle it
/// is passed: each makes 1,000 calls and gets all, `batches` times a round.
template <class Client>
void actor_calls_n_n(const bench_config& cfg, bench_samples& out, const char* figure,
                     Client client_fn) {
  auto client = troupe::task(client_fn, client_options);
  const std::int64_t per_batch = 1000;
  const std::int64_t batches = cfg.pick(10, 3);
  auto n = num_cores();
  with_actors(cfg, n, {}, [&](std::vector<actor_ref>& actors) {
    // Untimed: the callers' workers start and learn where their actors are.
    for (auto v : troupe::get(
             [&] {
               std::vector<int_ref> warm;
               for (auto& a : actors)
                 warm.push_back(client.remote(a, std::int64_t{10}, std::int64_t{1}));
               return warm;
             }(),
             cfg.timeout))
      check(v == 10, "caller warm-up result");
    for (int r = 0; r < cfg.rounds; ++r) {
      auto t0 = clock_type::now();
      std::vector<int_ref> clients;
      for (auto& a : actors)
        clients.push_back(client.remote(a, per_batch, batches));
      for (auto v : troupe::get(clients, cfg.timeout))
        check(v == per_batch * batches, "caller task result");
      out[figure].push_back(static_cast<double>(n) * static_cast<double>(per_batch * batches)
                            / seconds_since(t0));
    }
  });
}

void actor_calls_n_n_noarg(const bench_config& cfg, bench_samples& out) {
  actor_calls_n_n(cfg, out, "n_n_actor_calls_async", bench_client_actor_calls);
}

void actor_calls_n_n_arg(const bench_config& cfg, bench_samples& out) {
  actor_calls_n_n(cfg, out, "n_n_actor_calls_with_arg_async",
                  bench_client_actor_calls_arg);
}

/// Creates 100 actors and calls each once, in batches of 25 that are killed
/// (untimed) before the next: the node caps its worker processes at 64 and
/// each actor holds one. Times creation and first call only.
void actor_creation(const bench_config& cfg, bench_samples& out) {
  constexpr std::size_t batch = 25, batches = 4;
  for (int r = 0; r < cfg.rounds; ++r) {
    double timed = 0;
    for (std::size_t b = 0; b < batches; ++b) {
      auto t0 = clock_type::now();
      auto actors = start_actors(cfg, batch);
      timed += seconds_since(t0);
      kill_actors(cfg, actors);
    }
    out["actor_creation_per_s"].push_back(static_cast<double>(batch * batches) / timed);
  }
}

} // namespace

const std::vector<bench_workload>& cluster_workloads() {
  static const std::vector<bench_workload> all{
      {{"single_client_tasks_sync", "task_roundtrip_p50_us", "task_roundtrip_p99_us"},
       tasks_sync},
      {{"single_client_tasks_async"}, tasks_async},
      {{"multi_client_tasks_async"}, multi_client_tasks},
      {{"single_client_tasks_and_get_batch"}, tasks_and_get_batch},
      {{"1_1_actor_calls_sync", "actor_call_p50_us", "actor_call_p99_us"},
       actor_calls_sync},
      {{"1_1_actor_calls_async"}, actor_calls_async},
      {{"1_1_actor_calls_concurrent"}, actor_calls_concurrent},
      {{"1_n_actor_calls_async"}, actor_calls_1_n},
      {{"n_n_actor_calls_async"}, actor_calls_n_n_noarg},
      {{"n_n_actor_calls_with_arg_async"}, actor_calls_n_n_arg},
      {{"single_client_put_calls"}, put_calls},
      {{"single_client_get_calls"}, get_calls},
      {{"multi_client_put_calls"}, multi_client_puts},
      {{"single_client_put_gigabytes"}, put_gigabytes},
      {{"single_client_wait_1k_refs"}, wait_1k_refs},
      {{"single_client_get_object_containing_10k_refs"}, get_object_with_10k_refs},
      {{"chain_1000_tasks"}, chain_tasks},
      {{"tree_reduce_1024_s"}, tree_reduce},
      {{"large_arg_100mb_s"}, large_arg},
      {{"get_large_gigabytes"}, get_large},
      {{"actor_creation_per_s"}, actor_creation},
      {{"placement_group_create_removal"}, placement_groups},
      {{"cross_node_put_get_gigabytes"}, cross_node_put_get},
  };
  return all;
}

void warm_up(const bench_config& cfg) {
  get_all(submit_noops(cfg.pick<std::size_t>(200, 50)), cfg);
  check(troupe::get(troupe::task(bench_pid).remote(), cfg.timeout) != ::getpid(),
        "tasks run in the driver process");
}

void measure_cluster_start(const bench_config& cfg, bench_samples& out) {
  for (int r = 0; r < 3; ++r) {
    auto t0 = clock_type::now();
    troupe::init();
    try {
      check(troupe::get(troupe::task(bench_noop).remote(), cfg.timeout) == 1,
            "first task result");
    } catch (...) {
      troupe::shutdown();
      throw;
    }
    out["cluster_start_s"].push_back(seconds_since(t0));
    troupe::shutdown();
  }
}

} // namespace troupe::tools
