#include "tools/bench_floor.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "tools/bench_support.hpp"
#include "tools/tcp_floor.h"

namespace troupe::tools::bench {

namespace {

double median_of(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/// Adds `name` = median(`figure`) / median(`floor`) when both were measured.
void add_ratio(bench_samples& out, const char* name, const std::string& figure,
               const std::string& floor) {
  auto f = out.find(figure);
  auto b = out.find(floor);
  if (f == out.end() || f->second.empty() || b == out.end() || b->second.empty())
    return;
  out[name].push_back(median_of(f->second) / median_of(b->second));
}

} // namespace

void tcp_floor(const bench_config& cfg, bench_samples& out) {
  // As the cross-node figure moves 400 MB in 1 MiB pieces: 2 GB in 1 MiB
  // writes, long enough for the stream to reach its pace.
  auto stream_bytes = cfg.pick<std::size_t>(2'000'000'000, 500'000'000);
  auto round_trips = cfg.pick(20'000, 5'000);
  for (int r = 0; r < cfg.rounds; ++r) {
    auto gbs = troupe_tcp_stream_gigabytes(stream_bytes, 1u << 20);
    check(gbs > 0, "a loopback TCP stream moved its bytes");
    out["tcp_stream_gigabytes"].push_back(gbs);
    // 64 bytes: about what a no-op task's push and result carry.
    auto us = troupe_tcp_roundtrip_p50_us(round_trips, 64);
    check(us > 0, "a loopback TCP ping-pong completed");
    out["tcp_roundtrip_us"].push_back(us);
  }
}

void floor_ratios(const bench_config&, bench_samples& out) {
  add_ratio(out, "cross_node_floor_ratio", "cross_node_put_get_gigabytes",
            "tcp_stream_gigabytes");
  add_ratio(out, "task_roundtrip_floor_ratio", "task_roundtrip_p50_us",
            "tcp_roundtrip_us");
}

} // namespace troupe::tools::bench
