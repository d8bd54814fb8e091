#pragma once

// Hyperparameter search (Ray Tune): trials of a trainable over a search
// space, run in parallel on the cluster, weak ones stopped early by ASHA.
//
//     troupe::generator<troupe::tune::metrics> train(troupe::tune::config c) {
//       model m(c.number("lr"), c.number("reg"));
//       for (;;) {                                 // one report per iteration
//         troupe::tune::metrics r{{"accuracy", m.epoch()}};
//         co_yield r;     // a variable: GCC 12 cannot co_yield a braced map
//       }
//     }
//     TROUPE_REMOTE(train);
//
//     auto results = troupe::tune::run(train,
//         {{"lr", troupe::tune::loguniform(1e-4, 1e-1)},
//          {"reg", troupe::tune::grid({0.0, 0.01, 0.1})}},
//         {.metric = "accuracy", .num_samples = 8, .max_iterations = 50});
//     std::cout << results.to_string();             // best first
//     auto best = results.best_config();
//
// A trainable is a function returning `generator<metrics>` (each `co_yield`
// reports one iteration; returning ends the trial), or a class made from a
// `config` whose `metrics step()` runs one iteration. Either runs as an
// actor holding `run_options::resources_per_trial`; a trial that throws or
// crashes its process is reported in the table, not fatal.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "troupe/actor.hpp"
#include "troupe/async.hpp"
#include "troupe/tune/search_space.hpp"

namespace troupe::tune {

/// What one iteration reports, by name. A `done` of 1 ends the trial.
using metrics = std::map<std::string, double>;

/// Whether bigger or smaller values of the metric are better.
enum class mode : std::uint8_t { max, min };

/// How `run` searches.
struct run_options {
  /// The metric that ranks trials (required); `mode` says which way.
  std::string metric;
  tune::mode mode = mode::max;
  /// How often the search space is sampled (a grid is run this many times).
  int num_samples = 1;
  /// The seed of the random search (0: a random one; the table says which).
  std::uint64_t seed = 0;
  /// Iterations after which a trial ends (ASHA's `max_t`).
  int max_iterations = 100;
  /// Stop weak trials early with ASHA (asynchronous successive halving):
  /// at each rung (`grace_period` x `reduction_factor`^k iterations) a trial
  /// outside the top 1/`reduction_factor` of those that reached it stops.
  bool early_stopping = true;
  int grace_period = 1;
  double reduction_factor = 4;
  /// What each trial's actor holds while it runs.
  actor_options resources_per_trial{.num_cpus = 1};
  /// Trials at once (0: as many as the cluster's CPUs hold).
  std::size_t max_concurrent_trials = 0;
  /// Prints a line per finished trial to stderr.
  bool verbose = false;
};

/// How a trial ended.
enum class trial_status : std::uint8_t {
  terminated, ///< ran to its end (`max_iterations`, or the trainable ended)
  stopped,    ///< stopped early by the scheduler
  error,      ///< threw, or its process died
};

/// Returns "TERMINATED", "STOPPED" or "ERROR" (as Ray Tune says).
const char* to_string(trial_status s) noexcept;

/// One trial: its config, what it reported last, how it ended.
struct trial_result {
  int id = 0;
  tune::config config;
  metrics last;             ///< its last report
  int iterations = 0;
  trial_status status = trial_status::terminated;
  std::string error;        ///< why, for an `error`
  double seconds = 0;       ///< from its start to its end
};

/// The results of a search: one row per trial, best first (by the last
/// reported metric), failed trials and those that never reported last.
class result_table {
public:
  /// Sorts `rows` best first: by the last value of `metric`, bigger first
  /// when `maximize`.
  result_table(std::vector<trial_result> rows, std::string metric, std::uint64_t seed,
               double seconds, bool maximize);

  [[nodiscard]] const std::vector<trial_result>& rows() const noexcept { return rows_; }
  /// Returns the best trial; throws `error` if no trial reported the metric.
  [[nodiscard]] const trial_result& best() const;
  [[nodiscard]] const tune::config& best_config() const { return best().config; }
  /// Returns the seed the random search used.
  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }
  /// Returns the seconds the whole search took.
  [[nodiscard]] double seconds() const noexcept { return seconds_; }
  /// Returns the total iterations all trials ran.
  [[nodiscard]] long total_iterations() const;
  /// Returns the table as text, one line per trial.
  [[nodiscard]] std::string to_string() const;

private:
  std::vector<trial_result> rows_;
  std::string metric_;
  std::uint64_t seed_;
  double seconds_;
};

namespace detail {

/// One running trial, as the search drives it.
class trial_handle {
public:
  virtual ~trial_handle() = default;
  /// Starts its next iteration.
  virtual object_ref<metrics> step() = 0;
  /// Ends it (kills its actor).
  virtual void stop() = 0;
};

using trial_maker = std::function<std::unique_ptr<trial_handle>(const config&)>;

result_table run_trials(const trial_maker& make, const search_space& space,
                        const run_options& options);

/// Makes trials of a function trainable (by its registered name).
trial_maker function_trials(const std::string& name, const actor_options& resources);

template <class C>
class class_trial final : public trial_handle {
public:
  class_trial(actor_handle<C> a, metrics (C::*step)()) : a_(std::move(a)), step_(step) {}
  object_ref<metrics> step() override { return a_.task(step_).remote(); }
  void stop() override { troupe::kill(a_); }

private:
  actor_handle<C> a_;
  metrics (C::*step_)();
};

} // namespace detail

/// Runs a search with a function trainable (registered with TROUPE_REMOTE).
result_table run(generator<metrics> (*trainable)(config), const search_space& space,
                 const run_options& options);

/// Runs a search with a class trainable: `factory` makes an instance from a
/// config, and `step` (both registered with TROUPE_REMOTE) runs one iteration.
template <class C>
result_table run(std::unique_ptr<C> (*factory)(config), metrics (C::*step)(),
                 const search_space& space, const run_options& options) {
  auto resources = options.resources_per_trial;
  auto make = [factory, step, resources](const config& c) {
    auto a = troupe::actor(factory, resources).remote(c);
    return std::unique_ptr<detail::trial_handle>(
      new detail::class_trial<C>(std::move(a), step));
  };
  return detail::run_trials(make, space, options);
}

} // namespace troupe::tune
