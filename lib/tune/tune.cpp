#include "troupe/tune.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>

#include "asha.hpp"
#include "troupe/get.hpp"
#include "troupe/scheduling.hpp"

namespace troupe::tune {

const char* to_string(trial_status s) noexcept {
  switch (s) {
    case trial_status::terminated:
      return "TERMINATED";
    case trial_status::stopped:
      return "STOPPED";
    case trial_status::error:
      return "ERROR";
  }
  return "?";
}

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Returns the trial's last value of `metric`, or NaN without one.
double value_of(const trial_result& r, const std::string& metric) {
  auto it = r.last.find(metric);
  return it == r.last.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
}

/// How many trials run at once: as many as the cluster's CPUs hold.
std::size_t concurrency(const run_options& o, std::size_t trials) {
  if (o.max_concurrent_trials > 0)
    return o.max_concurrent_trials;
  if (o.resources_per_trial.num_cpus <= 0)
    return std::max<std::size_t>(1, trials);
  auto all = troupe::cluster_resources();
  auto cpus = all.contains("CPU") ? all.at("CPU") : 0.0;
  return std::max<std::size_t>(
    1, static_cast<std::size_t>(cpus / o.resources_per_trial.num_cpus));
}

void check_options(const run_options& o) {
  if (o.metric.empty())
    throw std::invalid_argument("troupe::tune::run: no metric given (run_options::metric)");
  if (o.num_samples < 1 || o.max_iterations < 1)
    throw std::invalid_argument("troupe::tune::run: num_samples and max_iterations must be "
                                "at least 1");
}

/// The search in progress: the trials running, and their results.
class search {
public:
  search(const detail::trial_maker& make, std::vector<config> configs, const run_options& o,
         std::uint64_t seed)
      : make_(make), o_(o) {
    if (o.early_stopping)
      asha_.emplace(o.max_iterations, o.grace_period, o.reduction_factor,
                    o.mode == mode::max);
    results_.resize(configs.size());
    for (std::size_t i = 0; i < configs.size(); ++i) {
      results_[i].id = static_cast<int>(i);
      results_[i].config = std::move(configs[i]);
    }
    if (o.verbose)
      std::cerr << "troupe::tune: " << results_.size() << " trials, seed " << seed << "\n";
  }

  void run() {
    auto width = concurrency(o_, results_.size());
    std::size_t next = 0;
    while (next < results_.size() || !live_.empty()) {
      while (live_.size() < width && next < results_.size())
        start(next++);
      if (live_.empty())
        continue;
      std::vector<object_ref<metrics>> refs;
      refs.reserve(live_.size());
      for (auto& t : live_)
        refs.push_back(t.ref);
      auto ready = troupe::wait(refs, 1).ready.front();
      for (std::size_t k = 0; k < live_.size(); ++k)
        if (live_[k].ref == ready) {
          if (!advance(live_[k]))
            live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(k));
          break;
        }
    }
  }

  std::vector<trial_result> take() { return std::move(results_); }

private:
  struct live_trial {
    std::size_t index;
    std::unique_ptr<detail::trial_handle> handle;
    object_ref<metrics> ref;
    clock_type::time_point began;
  };

  void start(std::size_t i) {
    live_trial t{i, nullptr, {}, clock_type::now()};
    try {
      t.handle = make_(results_[i].config);
      t.ref = t.handle->step();
    } catch (const std::exception& e) {
      results_[i].status = trial_status::error;
      results_[i].error = e.what();
      return;
    }
    live_.push_back(std::move(t));
  }

  /// Takes the trial's report; returns whether it goes on.
  bool advance(live_trial& t) {
    auto& r = results_[t.index];
    std::optional<trial_status> end;
    try {
      auto m = troupe::get(t.ref);
      if (auto done = m.find("done"); done != m.end() && done->second != 0) {
        m.erase(done);
        end = trial_status::terminated;
      }
      if (!m.empty()) {
        r.last = std::move(m);
        ++r.iterations;
      }
      if (!end && r.iterations >= o_.max_iterations)
        end = trial_status::terminated;
      if (!end && asha_ && asha_->should_stop(r.id, r.iterations, value_of(r, o_.metric)))
        end = trial_status::stopped;
      if (!end) {
        t.ref = t.handle->step();
        return true;
      }
    } catch (const std::exception& e) {
      end = trial_status::error;
      r.error = e.what();
    }
    finish(t, *end);
    return false;
  }

  void finish(live_trial& t, trial_status status) {
    auto& r = results_[t.index];
    r.status = status;
    r.seconds = seconds_since(t.began);
    try {
      t.handle->stop(); // frees its resources for the next trial
    } catch (const std::exception&) { // already dead
    }
    if (o_.verbose)
      std::cerr << "troupe::tune: trial " << r.id << " " << to_string(status) << " after "
                << r.iterations << " iterations, " << o_.metric << " "
                << value_of(r, o_.metric) << (r.error.empty() ? "" : ": " + r.error) << "\n";
  }

  const detail::trial_maker& make_;
  const run_options& o_;
  std::optional<detail::asha> asha_;
  std::vector<trial_result> results_;
  std::vector<live_trial> live_;
};

} // namespace

result_table::result_table(std::vector<trial_result> rows, std::string metric,
                           std::uint64_t seed, double seconds, bool maximize)
    : rows_(std::move(rows)), metric_(std::move(metric)), seed_(seed), seconds_(seconds) {
  auto rank = [&](const trial_result& r) {
    auto v = value_of(r, metric_);
    if (r.status == trial_status::error || std::isnan(v))
      return -std::numeric_limits<double>::infinity();
    return maximize ? v : -v;
  };
  std::stable_sort(rows_.begin(), rows_.end(), [&](const trial_result& a,
                                                   const trial_result& b) {
    return rank(a) > rank(b);
  });
}

const trial_result& result_table::best() const {
  if (rows_.empty() || rows_.front().status == trial_status::error
      || std::isnan(value_of(rows_.front(), metric_)))
    throw error(error_kind::runtime,
                "troupe::tune: no trial reported the metric \"" + metric_ + "\"");
  return rows_.front();
}

long result_table::total_iterations() const {
  long n = 0;
  for (auto& r : rows_)
    n += r.iterations;
  return n;
}

std::string result_table::to_string() const {
  std::ostringstream out;
  out.precision(5);
  out << rows_.size() << " trials in " << seconds_ << " s (seed " << seed_ << "), "
      << total_iterations() << " iterations; best " << metric_ << " first\n";
  auto metric_width = static_cast<int>(std::max<std::size_t>(10, metric_.size()));
  out << std::left << std::setw(6) << "trial" << std::setw(11) << "status" << std::setw(7)
      << "iters" << std::setw(metric_width + 2) << metric_ << "config\n";
  for (auto& r : rows_) {
    out << std::setw(6) << r.id << std::setw(11) << tune::to_string(r.status) << std::setw(7)
        << r.iterations << std::setw(metric_width + 2) << value_of(r, metric_)
        << r.config.to_string();
    if (!r.error.empty())
      out << "  error: " << r.error;
    out << "\n";
  }
  return out.str();
}

namespace detail {

result_table run_trials(const trial_maker& make, const search_space& space,
                        const run_options& options) {
  check_options(options);
  auto seed = options.seed != 0 ? options.seed : std::random_device{}();
  auto t0 = clock_type::now();
  search s{make, generate_configs(space, options.num_samples, seed), options, seed};
  s.run();
  return result_table{s.take(), options.metric, seed, seconds_since(t0),
                      options.mode == mode::max};
}

} // namespace detail

} // namespace troupe::tune
