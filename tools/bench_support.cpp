#include "tools/bench_support.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace troupe::tools::bench {

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

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(xs.size())));
  return xs[std::clamp<std::size_t>(rank, 1, xs.size()) - 1];
}

void check(bool ok, const char* what) {
  if (!ok)
    throw std::runtime_error(std::string{"wrong result: "} + what);
}

void get_all(const std::vector<int_ref>& refs, const bench_config& cfg) {
  auto values = troupe::get(refs, cfg.timeout);
  check(std::accumulate(values.begin(), values.end(), std::int64_t{0}) ==
            static_cast<std::int64_t>(refs.size()),
        "no-op results");
}

} // namespace troupe::tools::bench
