#include "tools/bench_libraries.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <thread>

#include <httplib.h>
#include <troupe/pool.hpp>
#include <troupe/queue.hpp>
#include <troupe/serve.hpp>

#include "tools/bench_support.hpp"

namespace troupe::tools::bench {

namespace {

std::int64_t bench_pool_item(std::int64_t x) {
  return x + 1;
}
TROUPE_REMOTE(bench_pool_item);

/// About a millisecond of arithmetic that the compiler cannot fold away.
double bench_pool_cpu_item(double x) {
  double acc = x;
  for (int i = 0; i < 400'000; ++i)
    acc = std::sqrt(acc * acc + 1.0 + i * 1e-9);
  return acc;
}
TROUPE_REMOTE(bench_pool_cpu_item);

/// Puts `n` items into `q`; returns how many.
std::int64_t bench_queue_produce(troupe::queue<std::int64_t> q, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    q.put(i);
  return n;
}
TROUPE_REMOTE(bench_queue_produce);

/// Takes `n` items from `q`; returns their sum.
std::int64_t bench_queue_consume(troupe::queue<std::int64_t> q, std::int64_t n) {
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < n; ++i)
    sum += q.get(std::chrono::seconds(30));
  return sum;
}
TROUPE_REMOTE(bench_queue_consume);

/// A replica that answers at once: what is left is the ingress and router.
class bench_null_model {
public:
  explicit bench_null_model(troupe::serve::json) {}
  troupe::serve::json call(troupe::serve::json request) { return request; }
};
std::unique_ptr<bench_null_model> make_bench_null_model(troupe::serve::json args) {
  return std::make_unique<bench_null_model>(std::move(args));
}
TROUPE_REMOTE(make_bench_null_model);
TROUPE_REMOTE(&bench_null_model::call);

/// Requests per second and latencies (ms) of `connections` keep-alive
/// clients posting to `port` for `seconds`.
struct http_load_result {
  double per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int failed = 0;
};

http_load_result http_load(int port, const std::string& path, int connections,
                           double seconds) {
  std::vector<std::vector<double>> lat(connections);
  std::vector<int> failed(connections, 0);
  auto t0 = clock_type::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c)
    threads.emplace_back([&, c] {
      httplib::Client cl("127.0.0.1", port);
      cl.set_keep_alive(true);
      cl.set_tcp_nodelay(true);
      while (seconds_since(t0) < seconds) {
        auto s = clock_type::now();
        auto r = cl.Post(path, R"({"x": 1})", "application/json");
        if (!r || r->status != 200)
          ++failed[c];
        else
          lat[c].push_back(seconds_since(s) * 1000);
      }
    });
  for (auto& t : threads)
    t.join();
  auto elapsed = seconds_since(t0);
  std::vector<double> all;
  http_load_result out;
  for (int c = 0; c < connections; ++c) {
    all.insert(all.end(), lat[c].begin(), lat[c].end());
    out.failed += failed[c];
  }
  out.per_s = static_cast<double>(all.size()) / elapsed;
  out.p50_ms = percentile(all, 0.5);
  out.p99_ms = percentile(all, 0.99);
  return out;
}

} // namespace

void serve_requests(const bench_config& cfg, bench_samples& out) {
  auto s = troupe::serve::start({.port = 0});
  s.deploy({"bench_null", make_bench_null_model, &bench_null_model::call,
            {.route = "/null", .num_replicas = 1}});
  http_load(s.port(), "/null", 4, 0.3); // warm: connections and workers up
  for (int r = 0; r < cfg.rounds; ++r) {
    auto res = http_load(s.port(), "/null", 8, cfg.pick(2.0, 0.5));
    check(res.failed == 0, "serve requests answered");
    out["serve_requests_per_s"].push_back(res.per_s);
    out["serve_p50_ms"].push_back(res.p50_ms);
    out["serve_p99_ms"].push_back(res.p99_ms);
  }
  s.shutdown();
}

void pool_map(const bench_config& cfg, bench_samples& out) {
  troupe::pool p; // as wide as the cluster's CPUs
  std::vector<std::int64_t> xs(cfg.pick<std::size_t>(100'000, 20'000));
  std::iota(xs.begin(), xs.end(), 0);
  std::vector<double> cpu_xs(cfg.pick<std::size_t>(200, 40));
  std::iota(cpu_xs.begin(), cpu_xs.end(), 1.0);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto t0 = clock_type::now();
    auto ys = p.map(bench_pool_item, xs);
    out["pool_map_items_per_s"].push_back(static_cast<double>(xs.size()) / seconds_since(t0));
    check(ys.size() == xs.size() && ys.back() == xs.back() + 1, "pool map result");

    t0 = clock_type::now();
    std::vector<double> local(cpu_xs.size());
    std::transform(cpu_xs.begin(), cpu_xs.end(), local.begin(), bench_pool_cpu_item);
    auto one_thread = seconds_since(t0);
    t0 = clock_type::now();
    auto pooled = p.map(bench_pool_cpu_item, cpu_xs);
    auto in_pool = seconds_since(t0);
    check(pooled == local, "pool map of CPU-bound items");
    out["pool_map_cpu_speedup"].push_back(one_thread / in_pool);
  }
}

void queue_ops(const bench_config& cfg, bench_samples& out) {
  troupe::queue<std::int64_t> q(100);
  auto pairs = cfg.pick<std::size_t>(2'000, 300);
  auto items = cfg.pick<std::int64_t>(5'000, 1'000);
  for (int r = 0; r < cfg.rounds; ++r) {
    std::int64_t sum = 0;
    auto ops = rate(pairs, 2.0, [&] {
      q.put(7);
      sum += q.get();
    });
    check(sum > 0 && q.empty(), "queue put/get");
    out["queue_put_get_ops_per_s"].push_back(2 * ops); // a put and a get per step

    auto t0 = clock_type::now();
    auto consumed = troupe::task(bench_queue_consume, client_options).remote(q, items);
    auto produced = troupe::task(bench_queue_produce, client_options).remote(q, items);
    check(troupe::get(produced, cfg.timeout) == items, "queue producer");
    check(troupe::get(consumed, cfg.timeout) == items * (items - 1) / 2, "queue consumer");
    out["queue_task_to_task_items_per_s"].push_back(static_cast<double>(items)
                                                    / seconds_since(t0));
  }
}

} // namespace troupe::tools::bench
