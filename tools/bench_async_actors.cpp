#include "tools/bench_async_actors.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <troupe/troupe.hpp>

#include "tools/bench_support.hpp"

namespace troupe::tools {

/// Ray's `AsyncActor`: coroutine methods that return a small value at once.
/// It is an async actor (its methods return `troupe::async`), so its calls
/// run on its one thread with up to 1,000 in flight. Ray's needs 1 CPU to be
/// placed and holds none while it runs; troupe has no such option, and it
/// holds 0 CPUs throughout.
class bench_async_actor {
public:
  troupe::async<std::int64_t> small_value() { co_return 1; }
  troupe::async<std::int64_t> small_value_with_arg(std::int64_t x) {
    co_return x >= 0 ? 1 : 0;
  }
};

std::unique_ptr<bench_async_actor> make_bench_async_actor() {
  return std::make_unique<bench_async_actor>();
}
TROUPE_REMOTE(make_bench_async_actor);
TROUPE_REMOTE(&bench_async_actor::small_value);
TROUPE_REMOTE(&bench_async_actor::small_value_with_arg);

using async_actor_ref = troupe::actor_handle<bench_async_actor>;

/// Ray's `Client` of the 1:n row: a plain actor (0 CPUs) holding the
/// servers' handles.
class bench_async_client {
public:
  explicit bench_async_client(std::vector<async_actor_ref> servers)
      : servers_(std::move(servers)) {}
  /// For each server in turn, `n` calls; then gets all. Returns their sum.
  std::int64_t small_value_batch(std::int64_t n) {
    std::vector<troupe::object_ref<std::int64_t>> refs;
    refs.reserve(static_cast<std::size_t>(n) * servers_.size());
    for (auto& s : servers_) {
      auto m = s.task(&bench_async_actor::small_value);
      for (std::int64_t i = 0; i < n; ++i)
        refs.push_back(m.remote());
    }
    std::int64_t total = 0;
    for (auto v : troupe::get(refs, std::chrono::seconds(60)))
      total += v;
    return total;
  }

private:
  std::vector<async_actor_ref> servers_;
};

std::unique_ptr<bench_async_client>
make_bench_async_client(std::vector<async_actor_ref> servers) {
  return std::make_unique<bench_async_client>(std::move(servers));
}
TROUPE_REMOTE(make_bench_async_client);
TROUPE_REMOTE(&bench_async_client::small_value_batch);

/// Ray's `async_actor_work` task of the n:n row: `n` calls, call i to
/// `actors[i % size]`, then gets all. Returns their sum.
std::int64_t bench_async_actor_work(std::vector<async_actor_ref> actors, std::int64_t n) {
  std::vector<troupe::actor_method<troupe::async<std::int64_t>>> methods;
  for (auto& a : actors)
    methods.push_back(a.task(&bench_async_actor::small_value));
  std::vector<troupe::object_ref<std::int64_t>> refs;
  refs.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    refs.push_back(methods[static_cast<std::size_t>(i) % methods.size()].remote());
  std::int64_t total = 0;
  for (auto v : troupe::get(refs, std::chrono::seconds(60)))
    total += v;
  return total;
}
TROUPE_REMOTE(bench_async_actor_work);

} // namespace troupe::tools

namespace troupe::tools::bench {

namespace {

/// Ray's n of the 1:n and n:n async rows: half the cores, at least one.
std::size_t num_servers() {
  return std::max(1U, std::thread::hardware_concurrency() / 2);
}

/// Kills `actors` and waits until each is known dead, so that their worker
/// processes are gone before the next row starts more (the node caps them).
template <class Handle, class Probe>
void kill_and_wait(const bench_config& cfg, std::vector<Handle>& actors, Probe probe) {
  for (auto& a : actors)
    troupe::kill(a);
  for (auto& a : actors) {
    try {
      (void)troupe::get(probe(a), cfg.timeout);
      throw std::runtime_error("a killed actor still answers calls");
    } catch (const troupe::actor_died_error&) {
    }
  }
  actors.clear();
}

/// Runs `body(servers)` on `count` fresh async actors, each of which has
/// answered one call (no timed loop includes their start), and kills them
/// afterwards, also when `body` throws.
template <class F>
void with_async_actors(const bench_config& cfg, std::size_t count, F&& body) {
  std::vector<async_actor_ref> servers;
  auto probe = [](const async_actor_ref& a) {
    return a.task(&bench_async_actor::small_value).remote();
  };
  try {
    std::vector<int_ref> first;
    for (std::size_t i = 0; i < count; ++i) {
      servers.push_back(troupe::actor(make_bench_async_actor).remote());
      first.push_back(probe(servers.back()));
    }
    get_all(first, cfg);
    body(servers);
  } catch (...) {
    for (auto& a : servers)
      troupe::kill(a);
    throw;
  }
  kill_and_wait(cfg, servers, probe);
}

/// Rounds of `unit` (which makes `per_unit` calls): calls per second.
template <class Unit>
void unit_rounds(const bench_config& cfg, bench_samples& out, const char* figure,
                 double per_unit, std::size_t max_units, Unit&& unit) {
  for (int r = 0; r < cfg.rounds; ++r)
    out[figure].push_back(per_unit * rate(max_units, cfg.pick(2.0, 0.5), unit));
}

/// 1,000 calls of `call(i)` (i = 0..999), then gets all.
template <class Call>
void thousand_calls(const bench_config& cfg, Call&& call) {
  std::vector<int_ref> refs;
  refs.reserve(1000);
  for (std::int64_t i = 0; i < 1000; ++i)
    refs.push_back(call(i));
  get_all(refs, cfg);
}

} // namespace

void async_actor_calls_sync(const bench_config& cfg, bench_samples& out) {
  with_async_actors(cfg, 1, [&](std::vector<async_actor_ref>& a) {
    auto m = a.front().task(&bench_async_actor::small_value);
    unit_rounds(cfg, out, "1_1_async_actor_calls_sync", 1,
                cfg.pick<std::size_t>(2000, 300),
                [&] { check(troupe::get(m.remote(), cfg.timeout) == 1, "call result"); });
  });
}

void async_actor_calls_async(const bench_config& cfg, bench_samples& out) {
  with_async_actors(cfg, 1, [&](std::vector<async_actor_ref>& a) {
    auto m = a.front().task(&bench_async_actor::small_value);
    unit_rounds(cfg, out, "1_1_async_actor_calls_async", 1000,
                cfg.pick<std::size_t>(20, 5),
                [&] { thousand_calls(cfg, [&](std::int64_t) { return m.remote(); }); });
  });
}

void async_actor_calls_with_args_async(const bench_config& cfg, bench_samples& out) {
  with_async_actors(cfg, 1, [&](std::vector<async_actor_ref>& a) {
    // By-value ints, inlined in each call (not refs), as Ray's row.
    auto m = a.front().task(&bench_async_actor::small_value_with_arg);
    unit_rounds(cfg, out, "1_1_async_actor_calls_with_args_async", 1000,
                cfg.pick<std::size_t>(20, 5), [&] {
                  thousand_calls(cfg, [&](std::int64_t i) { return m.remote(i); });
                });
  });
}

void async_actor_calls_1_n(const bench_config& cfg, bench_samples& out) {
  const std::int64_t n = 5000;
  with_async_actors(cfg, num_servers(), [&](std::vector<async_actor_ref>& servers) {
    troupe::actor_options zero_cpu; // Ray's Client: num_cpus=0
    std::vector<troupe::actor_handle<bench_async_client>> client{
        troupe::actor(make_bench_async_client, zero_cpu).remote(servers)};
    auto batch = client.front().task(&bench_async_client::small_value_batch);
    auto per_unit = static_cast<std::int64_t>(servers.size()) * n;
    try {
      check(troupe::get(batch.remote(10), cfg.timeout) == 10 * per_unit / n,
            "client warm-up"); // untimed: the client learns where the servers are
      unit_rounds(cfg, out, "1_n_async_actor_calls_async", static_cast<double>(per_unit),
                  cfg.pick<std::size_t>(10, 3), [&] {
                    check(troupe::get(batch.remote(n), cfg.timeout) == per_unit,
                          "client batch result");
                  });
    } catch (...) {
      troupe::kill(client.front());
      throw;
    }
    kill_and_wait(cfg, client, [](const troupe::actor_handle<bench_async_client>& c) {
      return c.task(&bench_async_client::small_value_batch).remote(0);
    });
  });
}

void async_actor_calls_n_n(const bench_config& cfg, bench_samples& out) {
  constexpr int callers = 4;
  const std::int64_t n = 5000;
  auto work = troupe::task(bench_async_actor_work); // 1 CPU each, as Ray's task
  with_async_actors(cfg, num_servers(), [&](std::vector<async_actor_ref>& servers) {
    auto unit = [&] {
      std::vector<int_ref> refs;
      for (int c = 0; c < callers; ++c)
        refs.push_back(work.remote(servers, n));
      for (auto v : troupe::get(refs, cfg.timeout))
        check(v == n, "caller task result");
    };
    unit(); // the first unit, untimed: the callers' workers start
    unit_rounds(cfg, out, "n_n_async_actor_calls_async", callers * static_cast<double>(n),
                cfg.pick<std::size_t>(10, 3), unit);
  });
}

} // namespace troupe::tools::bench
