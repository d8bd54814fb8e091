#pragma once

// Asynchronous successive halving (ASHA, Li et al. 2018; Ray Tune's default
// early-stopping scheduler), as a plain struct the search drives.
//
// Rungs sit at `grace_period` x `reduction_factor`^k iterations, below
// `max_t`. The first time a trial reaches a rung, its value is compared with
// the values of the trials that reached the rung before it: outside their
// top 1/`reduction_factor` (below the (1 - 1/rf) quantile) it stops, and
// either way its value joins the rung. No trial waits for others, so
// trials start and stop at any time: the "asynchronous" of ASHA.

#include <map>
#include <vector>

namespace troupe::tune::detail {

class asha {
public:
  /// `maximize`: bigger values are better.
  asha(int max_t, int grace_period, double reduction_factor, bool maximize);

  /// A trial reported `value` after `iteration` iterations; returns whether
  /// it should stop.
  bool should_stop(int trial, int iteration, double value);

  /// Returns the rungs' iterations, lowest first.
  [[nodiscard]] std::vector<int> milestones() const;

private:
  struct rung {
    int milestone;
    std::map<int, double> recorded; ///< trial -> its value there (bigger is better)
  };
  std::vector<rung> rungs_; ///< highest milestone first
  double rf_;
  bool maximize_;
};

/// Returns the `q` quantile (0..1) of `xs`, interpolated as numpy does.
double quantile(std::vector<double> xs, double q);

} // namespace troupe::tune::detail
