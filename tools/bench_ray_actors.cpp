// The actor rows of the Ray suite, with Ray's `Actor` and `Client` classes
// (both 0 CPU, as in ray_perf.py): "multi client tasks async" and the
// "... actor calls ..." rows.
#include <memory>
#include <vector>

#include "tools/bench_ray.hpp"
#include "tools/bench_ray_support.hpp"

namespace troupe::tools {

/// Ray's `Actor`: no-op methods, and a batch of tasks submitted from inside.
class ray_actor {
public:
  std::int64_t small_value() { return 1; }
  std::int64_t small_value_arg(std::int64_t) { return 1; }
  /// Submits `n` small-value tasks and gets them all.
  std::int64_t small_value_batch(std::int64_t n) {
    bench_config cfg;
    bench::get_all(bench::submit_small_values(static_cast<std::size_t>(n)), cfg);
    return n;
  }
};

std::unique_ptr<ray_actor> make_ray_actor() {
  return std::make_unique<ray_actor>();
}
TROUPE_REMOTE(make_ray_actor);
TROUPE_REMOTE(&ray_actor::small_value);
TROUPE_REMOTE(&ray_actor::small_value_arg);
TROUPE_REMOTE(&ray_actor::small_value_batch);

using ray_actor_handle = troupe::actor_handle<ray_actor>;

/// Ray's `Client`: a caller actor that holds the servers' handles.
class ray_client {
public:
  explicit ray_client(std::vector<ray_actor_handle> servers) : servers_(std::move(servers)) {}

  /// For each server in turn, `n` calls; then gets them all.
  std::int64_t small_value_batch(std::int64_t n) {
    std::vector<bench::int_ref> refs;
    for (auto& s : servers_) {
      auto m = s.task(&ray_actor::small_value);
      for (std::int64_t i = 0; i < n; ++i)
        refs.push_back(m.remote());
    }
    bench::get_all(refs, bench_config{});
    return static_cast<std::int64_t>(refs.size());
  }

  /// As `small_value_batch`, each call passing the ref of a small value put
  /// into the store: the server reads it from there.
  std::int64_t small_value_batch_arg(std::int64_t n) {
    auto x = troupe::put(std::int64_t{0}, {.in_store = true});
    std::vector<bench::int_ref> refs;
    for (auto& s : servers_) {
      auto m = s.task(&ray_actor::small_value_arg);
      for (std::int64_t i = 0; i < n; ++i)
        refs.push_back(m.remote(x));
    }
    bench::get_all(refs, bench_config{});
    return static_cast<std::int64_t>(refs.size());
  }

private:
  std::vector<ray_actor_handle> servers_;
};

std::unique_ptr<ray_client> make_ray_client(std::vector<ray_actor_handle> servers) {
  return std::make_unique<ray_client>(std::move(servers));
}
TROUPE_REMOTE(make_ray_client);
TROUPE_REMOTE(&ray_client::small_value_batch);
TROUPE_REMOTE(&ray_client::small_value_batch_arg);

/// Ray's `work` task of "n:n actor calls async": 5,000 calls spread
/// round-robin over all the actors, then get them all.
std::int64_t ray_work(std::vector<ray_actor_handle> actors) {
  std::vector<troupe::actor_method<std::int64_t>> methods;
  for (auto& a : actors)
    methods.push_back(a.task(&ray_actor::small_value));
  std::vector<bench::int_ref> refs;
  refs.reserve(5000);
  for (std::size_t i = 0; i < 5000; ++i)
    refs.push_back(methods[i % methods.size()].remote());
  bench::get_all(refs, bench_config{});
  return 1;
}
TROUPE_REMOTE(ray_work);

} // namespace troupe::tools

namespace troupe::tools::bench {

namespace {

using actors = actor_reaper<ray_actor_handle>;

/// Starts `n` actors and waits for one call of each, so that no timed
/// window includes their start-up (Ray's warm-up second absorbs it).
void start(actors& into, std::size_t n, const bench_config& cfg,
           troupe::actor_options opts = {}) {
  std::vector<int_ref> first;
  for (std::size_t i = 0; i < n; ++i) {
    into.actors.push_back(troupe::actor(make_ray_actor, opts).remote());
    first.push_back(into.actors.back().task(&ray_actor::small_value).remote());
  }
  get_all(first, cfg);
}

using clients = actor_reaper<troupe::actor_handle<ray_client>>;

/// Ray's 1:n shape: one client holding every server.
void one_client_for_all(clients& into, const std::vector<ray_actor_handle>& servers) {
  into.actors.push_back(troupe::actor(make_ray_client).remote(servers));
}

/// Ray's n:n-with-arg shape: one client per server.
void one_client_each(clients& into, const std::vector<ray_actor_handle>& servers) {
  for (auto& s : servers)
    into.actors.push_back(
      troupe::actor(make_ray_client).remote(std::vector<ray_actor_handle>{s}));
}

/// A row of 1,000 calls to one actor, then get them all.
void one_to_one_async(const bench_config& cfg, bench_samples& out, const char* name,
                      troupe::actor_options opts) {
  actors a;
  start(a, 1, cfg, std::move(opts));
  auto m = a.actors.front().task(&ray_actor::small_value);
  ray_timeit(cfg, out, name, 1000, [&] {
    std::vector<int_ref> refs;
    refs.reserve(1000);
    for (int i = 0; i < 1000; ++i)
      refs.push_back(m.remote());
    get_all(refs, cfg);
  });
}

} // namespace

/// "multi client tasks async": 4 standing actors each submit 10,000 tasks
/// and get them; per call, one such batch from each (40,000 tasks).
void ray_multi_client_tasks_async(const bench_config& cfg, bench_samples& out) {
  actors a;
  start(a, 4, cfg);
  ray_timeit(cfg, out, "ray_multi_client_tasks_async", 4 * 10'000, [&] {
    std::vector<int_ref> refs;
    for (auto& x : a.actors)
      refs.push_back(x.task(&ray_actor::small_value_batch).remote(std::int64_t{10'000}));
    for (auto v : troupe::get(refs, cfg.timeout))
      check(v == 10'000, "client batch result");
  });
}

void ray_actor_calls_sync(const bench_config& cfg, bench_samples& out) {
  actors a;
  start(a, 1, cfg);
  auto m = a.actors.front().task(&ray_actor::small_value);
  ray_timeit(cfg, out, "ray_1_1_actor_calls_sync", 1,
             [&] { check(troupe::get(m.remote(), cfg.timeout) == 1, "small value"); });
}

void ray_actor_calls_async(const bench_config& cfg, bench_samples& out) {
  one_to_one_async(cfg, out, "ray_1_1_actor_calls_async", {});
}

void ray_actor_calls_concurrent(const bench_config& cfg, bench_samples& out) {
  one_to_one_async(cfg, out, "ray_1_1_actor_calls_concurrent", {.max_concurrency = 16});
}

/// "1:n actor calls async": a client actor calls each of n_cpu actors 5,000
/// times, then gets all; one client batch per call.
void ray_actor_calls_1_n(const bench_config& cfg, bench_samples& out) {
  actors a;
  auto n = ray_n_cpu();
  start(a, n, cfg);
  clients client;
  one_client_for_all(client, a.actors);
  auto batch = client.actors.front().task(&ray_client::small_value_batch);
  ray_timeit(cfg, out, "ray_1_n_actor_calls_async", 5000.0 * static_cast<double>(n), [&] {
    check(troupe::get(batch.remote(std::int64_t{5000}), cfg.timeout)
            == 5000 * static_cast<std::int64_t>(n),
          "client batch result");
  });
}

/// "n:n actor calls async": 4 caller tasks of 1 CPU, each making 5,000 calls
/// round-robin over all n_cpu actors.
void ray_actor_calls_n_n(const bench_config& cfg, bench_samples& out) {
  actors a;
  start(a, ray_n_cpu(), cfg);
  auto work = troupe::task(ray_work, one_cpu);
  ray_timeit(cfg, out, "ray_n_n_actor_calls_async", 4 * 5000, [&] {
    std::vector<int_ref> refs;
    for (int i = 0; i < 4; ++i)
      refs.push_back(work.remote(a.actors));
    get_all(refs, cfg);
  });
}

/// "n:n actor calls with arg async": n_cpu client actors, each with a server
/// of its own, make 1,000 calls passing a stored small value by ref.
void ray_actor_calls_n_n_arg(const bench_config& cfg, bench_samples& out) {
  actors a;
  auto n = ray_n_cpu();
  start(a, n, cfg);
  clients c;
  one_client_each(c, a.actors);
  ray_timeit(cfg, out, "ray_n_n_actor_calls_with_arg_async", 1000.0 * static_cast<double>(n),
             [&] {
               std::vector<int_ref> refs;
               for (auto& x : c.actors)
                 refs.push_back(
                   x.task(&ray_client::small_value_batch_arg).remote(std::int64_t{1000}));
               for (auto v : troupe::get(refs, cfg.timeout))
                 check(v == 1000, "client batch result");
             });
}

} // namespace troupe::tools::bench
