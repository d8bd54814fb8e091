#include "tools/bench_actors.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <troupe/troupe.hpp>

#include "tools/bench_support.hpp"

namespace troupe::tools {

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

} // namespace troupe::tools

namespace troupe::tools::bench {

namespace {

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

/// `figure`: one caller (the driver) makes 1,000 calls spread over the
/// actors, then gets all; a round is `cycles` of these. A cycle takes only
/// a few ms here: a round of many is less at the mercy of noise.
void actor_calls_async_on(const bench_config& cfg, bench_samples& out, const char* figure,
                          std::size_t num_actors, troupe::actor_options opts) {
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
      out[figure].push_back(static_cast<double>(n) *
                            static_cast<double>(per_batch * batches) / seconds_since(t0));
    }
  });
}

} // namespace

void actor_calls_sync(const bench_config& cfg, bench_samples& out) {
  with_actors(cfg, 1, {}, [&](std::vector<actor_ref>& actors) {
    auto m = actors.front().task(&bench_actor::noop);
    sync_rounds(
        cfg, out, "1_1_actor_calls_sync", "actor_call_p50_us", "actor_call_p99_us",
        [&] { check(troupe::get(m.remote(), cfg.timeout) == 1, "no-op call result"); });
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

} // namespace troupe::tools::bench
