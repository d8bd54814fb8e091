// The five async-actor rows of the Ray suite ("... async-actor calls ...").
//
// Ray's `AsyncActor` runs its `async def` methods as coroutines on one event
// loop, up to 1,000 calls at once. So does a troupe actor whose methods
// return `troupe::async<T>`: its calls take turns on one thread, up to
// `max_concurrency` (1,000 by default for such an actor) in flight.
#include <memory>
#include <vector>

#include "tools/bench_ray.hpp"
#include "tools/bench_ray_support.hpp"

namespace troupe::tools {

/// Ray's `AsyncActor` (its methods are `async def`; see above).
class ray_async_actor {
public:
  troupe::async<std::int64_t> small_value() { co_return 1; }
  troupe::async<std::int64_t> small_value_with_arg(std::int64_t) { co_return 1; }
};

std::unique_ptr<ray_async_actor> make_ray_async_actor() {
  return std::make_unique<ray_async_actor>();
}
TROUPE_REMOTE(make_ray_async_actor);
TROUPE_REMOTE(&ray_async_actor::small_value);
TROUPE_REMOTE(&ray_async_actor::small_value_with_arg);

using ray_async_handle = troupe::actor_handle<ray_async_actor>;

/// Ray's (sync) `Client` actor of the 1:n row, here over async actors.
class ray_async_client {
public:
  explicit ray_async_client(std::vector<ray_async_handle> servers)
    : servers_(std::move(servers)) {}

  /// For each server in turn, `n` calls; then gets them all.
  std::int64_t small_value_batch(std::int64_t n) {
    std::vector<bench::int_ref> refs;
    for (auto& s : servers_) {
      auto m = s.task(&ray_async_actor::small_value);
      for (std::int64_t i = 0; i < n; ++i)
        refs.push_back(m.remote());
    }
    bench::get_all(refs, bench_config{});
    return static_cast<std::int64_t>(refs.size());
  }

private:
  std::vector<ray_async_handle> servers_;
};

std::unique_ptr<ray_async_client> make_ray_async_client(std::vector<ray_async_handle> s) {
  return std::make_unique<ray_async_client>(std::move(s));
}
TROUPE_REMOTE(make_ray_async_client);
TROUPE_REMOTE(&ray_async_client::small_value_batch);

/// Ray's `async_actor_work` task: 5,000 calls round-robin over the actors.
std::int64_t ray_async_actor_work(std::vector<ray_async_handle> actors) {
  std::vector<bench::int_ref> refs;
  refs.reserve(5000);
  for (std::size_t i = 0; i < 5000; ++i)
    refs.push_back(actors[i % actors.size()].task(&ray_async_actor::small_value).remote());
  bench::get_all(refs, bench_config{});
  return 1;
}
TROUPE_REMOTE(ray_async_actor_work);

} // namespace troupe::tools

namespace troupe::tools::bench {

namespace {

/// Whether the async-actor rows run (they need coroutine actor methods).
constexpr bool coroutine_actor_rows_enabled() {
  return true;
}

/// Ray's `AsyncActor` options: no CPU held while it runs, up to 1,000 calls
/// in flight on its one thread (the default of an async actor).
troupe::actor_options async_actor_options() {
  return {};
}

using async_actors = actor_reaper<ray_async_handle>;

void start(async_actors& into, std::size_t n, const bench_config& cfg) {
  std::vector<int_ref> first;
  for (std::size_t i = 0; i < n; ++i) {
    into.actors.push_back(troupe::actor(make_ray_async_actor, async_actor_options()).remote());
    first.push_back(into.actors.back().task(&ray_async_actor::small_value).remote());
  }
  get_all(first, cfg);
}

} // namespace

void ray_async_actor_calls_sync(const bench_config& cfg, bench_samples& out) {
  if (!coroutine_actor_rows_enabled())
    return; // no figure: printed as unsupported
  async_actors a;
  start(a, 1, cfg);
  auto m = a.actors.front().task(&ray_async_actor::small_value);
  ray_timeit(cfg, out, "ray_1_1_async_actor_calls_sync", 1,
             [&] { check(troupe::get(m.remote(), cfg.timeout) == 1, "small value"); });
}

void ray_async_actor_calls_async(const bench_config& cfg, bench_samples& out) {
  if (!coroutine_actor_rows_enabled())
    return;
  async_actors a;
  start(a, 1, cfg);
  auto m = a.actors.front().task(&ray_async_actor::small_value);
  ray_timeit(cfg, out, "ray_1_1_async_actor_calls_async", 1000, [&] {
    std::vector<int_ref> refs;
    for (int i = 0; i < 1000; ++i)
      refs.push_back(m.remote());
    get_all(refs, cfg);
  });
}

/// The arguments are ints passed by value (inline in each call), not refs.
void ray_async_actor_calls_with_args(const bench_config& cfg, bench_samples& out) {
  if (!coroutine_actor_rows_enabled())
    return;
  async_actors a;
  start(a, 1, cfg);
  auto m = a.actors.front().task(&ray_async_actor::small_value_with_arg);
  ray_timeit(cfg, out, "ray_1_1_async_actor_calls_with_args_async", 1000, [&] {
    std::vector<int_ref> refs;
    for (std::int64_t i = 0; i < 1000; ++i)
      refs.push_back(m.remote(i));
    get_all(refs, cfg);
  });
}

void ray_async_actor_calls_1_n(const bench_config& cfg, bench_samples& out) {
  if (!coroutine_actor_rows_enabled())
    return;
  async_actors a;
  auto n = ray_n_cpu();
  start(a, n, cfg);
  actor_reaper<troupe::actor_handle<ray_async_client>> client;
  client.actors.push_back(troupe::actor(make_ray_async_client).remote(a.actors));
  auto batch = client.actors.front().task(&ray_async_client::small_value_batch);
  ray_timeit(cfg, out, "ray_1_n_async_actor_calls_async", 5000.0 * static_cast<double>(n),
             [&] {
               check(troupe::get(batch.remote(std::int64_t{5000}), cfg.timeout)
                       == 5000 * static_cast<std::int64_t>(n),
                     "client batch result");
             });
}

void ray_async_actor_calls_n_n(const bench_config& cfg, bench_samples& out) {
  if (!coroutine_actor_rows_enabled())
    return;
  async_actors a;
  start(a, ray_n_cpu(), cfg);
  auto work = troupe::task(ray_async_actor_work, one_cpu);
  ray_timeit(cfg, out, "ray_n_n_async_actor_calls_async", 4 * 5000, [&] {
    std::vector<int_ref> refs;
    for (int i = 0; i < 4; ++i)
      refs.push_back(work.remote(a.actors));
    get_all(refs, cfg);
  });
}

} // namespace troupe::tools::bench
