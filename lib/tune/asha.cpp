#include "asha.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace troupe::tune::detail {

asha::asha(int max_t, int grace_period, double reduction_factor, bool maximize)
    : rf_(reduction_factor), maximize_(maximize) {
  if (grace_period < 1 || max_t < grace_period || reduction_factor <= 1)
    throw std::invalid_argument("troupe::tune: ASHA needs 1 <= grace_period ("
                                + std::to_string(grace_period) + ") <= max_iterations ("
                                + std::to_string(max_t) + ") and a reduction_factor above 1");
  for (double m = grace_period; m < max_t; m *= reduction_factor)
    rungs_.insert(rungs_.begin(), rung{static_cast<int>(std::lround(m)), {}});
}

bool asha::should_stop(int trial, int iteration, double value) {
  if (std::isnan(value))
    return false; // no value, no judgement (as Ray: NaN is skipped)
  auto v = maximize_ ? value : -value;
  for (auto& r : rungs_) {
    if (iteration < r.milestone || r.recorded.contains(trial))
      continue;
    bool stop = false;
    if (!r.recorded.empty()) {
      std::vector<double> seen;
      seen.reserve(r.recorded.size());
      for (auto& [t, x] : r.recorded)
        seen.push_back(x);
      stop = v < quantile(std::move(seen), 1 - 1 / rf_);
    }
    r.recorded[trial] = v;
    return stop;
  }
  return false;
}

std::vector<int> asha::milestones() const {
  std::vector<int> out;
  for (auto it = rungs_.rbegin(); it != rungs_.rend(); ++it)
    out.push_back(it->milestone);
  return out;
}

double quantile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  auto pos = q * static_cast<double>(xs.size() - 1);
  auto lo = static_cast<std::size_t>(std::floor(pos));
  auto hi = std::min(lo + 1, xs.size() - 1);
  return xs[lo] + (pos - static_cast<double>(lo)) * (xs[hi] - xs[lo]);
}

} // namespace troupe::tune::detail
