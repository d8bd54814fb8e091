#include "tools/bench_objects.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tools/bench_support.hpp"

namespace troupe::tools {

troupe::shared_array<double> bench_ones(std::uint64_t n) {
  return troupe::shared_array<double>(std::vector<double>(n, 1.0));
}
TROUPE_REMOTE(bench_ones);

/// Sums an array in place (in shared memory when the ref is on this node).
double bench_sum(troupe::shared_array<double> xs) {
  return bench::fast_sum(xs.data(), xs.size());
}
TROUPE_REMOTE(bench_sum);

/// One client of multi_client_put_calls: puts `n` small values.
std::int64_t bench_client_puts(std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    (void)troupe::put(i);
  return n;
}
TROUPE_REMOTE(bench_client_puts);

} // namespace troupe::tools

namespace troupe::tools::bench {

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

} // namespace troupe::tools::bench
