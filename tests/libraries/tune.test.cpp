// troupe::tune on a real local cluster: trials as actors, ASHA stopping the
// weak ones, failures in the table.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include "tests/cluster_fixture.hpp"
#include "troupe/tune.hpp"

using troupe::test::local_cluster;
namespace tune = troupe::tune;

namespace {

[[noreturn]] void diverge() {
  throw std::runtime_error("diverged at iteration 3");
}

/// Reports quality x iteration, each iteration: a trial with a better
/// `quality` is ahead at every rung. A `quality` of -1 throws at iteration
/// 3; -2 kills its own process there.
troupe::generator<tune::metrics> climb(tune::config c) {
  auto q = c.number("quality");
  for (int i = 1;; ++i) {
    if (i == 3 && q == -1)
      diverge();
    if (i == 3 && q == -2)
      std::abort();
    tune::metrics m{{"score", q * i}, {"iteration", double(i)}};
    co_yield m;
  }
}
TROUPE_REMOTE(climb);

/// Ends by itself after `steps` reports.
troupe::generator<tune::metrics> short_lived(tune::config c) {
  for (int i = 0; i < c.integer("steps"); ++i) {
    tune::metrics m{{"loss", 1.0 / (i + 1)}}; // a variable: GCC 12 cannot
    co_yield m;                               // co_yield a braced map of literals
  }
}
TROUPE_REMOTE(short_lived);

/// A class trainable: a parabola with its top at x = 2.
class parabola {
public:
  explicit parabola(tune::config c) : x_(c.number("x")) {}
  tune::metrics step() { return {{"y", -(x_ - 2) * (x_ - 2) - 1.0 / ++calls_}}; }

private:
  double x_;
  int calls_ = 0;
};
std::unique_ptr<parabola> make_parabola(tune::config c) {
  return std::make_unique<parabola>(std::move(c));
}
TROUPE_REMOTE(make_parabola);
TROUPE_REMOTE(&parabola::step);

const tune::trial_result& row_of(const tune::result_table& t, double quality) {
  for (auto& r : t.rows())
    if (r.config.number("quality") == quality)
      return r;
  throw std::logic_error("no such row");
}

} // namespace

TEST_CASE("a grid search without early stopping runs every trial to max_iterations") {
  local_cluster cluster;
  auto t = tune::run(climb, {{"quality", tune::grid({1, 3, 2})}},
                     {.metric = "score", .num_samples = 2, .max_iterations = 5,
                      .early_stopping = false});
  REQUIRE(t.rows().size() == 6);
  for (auto& r : t.rows()) {
    CHECK(r.status == tune::trial_status::terminated);
    CHECK(r.iterations == 5);
    CHECK(r.last.at("score") == r.config.number("quality") * 5);
  }
  CHECK(t.best_config().number("quality") == 3);  // best first
  CHECK(t.rows().back().config.number("quality") == 1);
  CHECK(t.total_iterations() == 30);
  CHECK(t.to_string().find("TERMINATED") != std::string::npos);
}

TEST_CASE("ASHA stops the weak trials early and lets the best run to the end") {
  local_cluster cluster;
  // Best first: ASHA judges a trial against those that reached its rung
  // before it, so the later, weaker ones must stop.
  std::vector<tune::value> qualities;
  for (int q = 8; q >= 1; --q)
    qualities.emplace_back(q);
  auto t = tune::run(climb, {{"quality", tune::grid(qualities)}},
                     {.metric = "score", .max_iterations = 16, .grace_period = 1,
                      .reduction_factor = 2}); // two at once, on the 2 CPUs
  REQUIRE(t.rows().size() == 8);
  CHECK(t.best_config().number("quality") == 8);
  CHECK(t.best().iterations == 16);
  CHECK(t.best().status == tune::trial_status::terminated);
  int stopped = 0;
  for (auto& r : t.rows())
    if (r.status == tune::trial_status::stopped) {
      ++stopped;
      CHECK(r.iterations < 16);
    }
  CHECK(stopped >= 4); // halving: most of them
  CHECK(t.total_iterations() < 8 * 16);
}

TEST_CASE("random search samples within the space; the seed is kept") {
  local_cluster cluster;
  auto t = tune::run(climb, {{"quality", tune::uniform(0.5, 1.5)}},
                     {.metric = "score", .num_samples = 4, .seed = 99,
                      .max_iterations = 2});
  CHECK(t.seed() == 99);
  std::set<double> seen;
  for (auto& r : t.rows()) {
    auto q = r.config.number("quality");
    CHECK(q >= 0.5);
    CHECK(q < 1.5);
    seen.insert(q);
  }
  CHECK(seen.size() == 4);
  std::set<double> drawn; // the same seed draws the same configs
  for (auto& c : tune::generate_configs({{"quality", tune::uniform(0.5, 1.5)}}, 4, 99))
    drawn.insert(c.number("quality"));
  CHECK(drawn == seen);
}

TEST_CASE("a trial that throws or crashes its process is reported, not fatal") {
  local_cluster cluster;
  auto t = tune::run(climb, {{"quality", tune::grid({1, -1, -2, 2})}},
                     {.metric = "score", .max_iterations = 4, .early_stopping = false});
  REQUIRE(t.rows().size() == 4);
  CHECK(t.best_config().number("quality") == 2);
  auto& threw = row_of(t, -1);
  CHECK(threw.status == tune::trial_status::error);
  CHECK(threw.iterations == 2);
  CHECK(threw.error.find("diverged at iteration 3") != std::string::npos);
  auto& crashed = row_of(t, -2);
  CHECK(crashed.status == tune::trial_status::error);
  CHECK(crashed.error.find("died") != std::string::npos);
  CHECK(t.rows().back().status == tune::trial_status::error); // failures last
}

TEST_CASE("a trainable that ends by itself terminates; mode min ranks the lowest first") {
  local_cluster cluster;
  auto t = tune::run(short_lived, {{"steps", tune::grid({2, 5})}},
                     {.metric = "loss", .mode = tune::mode::min, .max_iterations = 100});
  REQUIRE(t.rows().size() == 2);
  CHECK(t.best_config().integer("steps") == 5);
  CHECK(t.best().iterations == 5);
  CHECK(t.best().status == tune::trial_status::terminated);
}

TEST_CASE("a class trainable; bad options are named") {
  local_cluster cluster;
  auto t = tune::run(make_parabola, &parabola::step,
                     {{"x", tune::grid({0.0, 1.0, 2.0, 3.5})}},
                     {.metric = "y", .max_iterations = 3, .early_stopping = false});
  CHECK(t.best_config().number("x") == 2.0);
  CHECK(t.best().iterations == 3);
  CHECK_THROWS_AS(tune::run(climb, {}, {}), std::invalid_argument); // no metric
}
