#include "troupe/tune/search_space.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <stdexcept>

using namespace troupe::tune;

TEST_CASE("grids multiply, num_samples repeats them, the rest is drawn within bounds") {
  search_space space{{"opt", grid({"sgd", "adam"})},
                     {"layers", grid({1, 2, 3})},
                     {"lr", loguniform(1e-4, 1e-1)},
                     {"reg", uniform(0, 0.5)},
                     {"batch", choice({16, 32, 64})},
                     {"seed", randint(0, 3)}};
  auto configs = generate_configs(space, 4, 42);
  REQUIRE(configs.size() == 2 * 3 * 4);
  std::set<std::pair<std::string, std::int64_t>> points;
  std::set<std::int64_t> seeds;
  for (auto& c : configs) {
    points.emplace(c.text("opt"), c.integer("layers"));
    CHECK(c.number("lr") >= 1e-4);
    CHECK(c.number("lr") < 1e-1);
    CHECK(c.number("reg") >= 0);
    CHECK(c.number("reg") < 0.5);
    auto b = c.integer("batch");
    CHECK((b == 16 || b == 32 || b == 64));
    seeds.insert(c.integer("seed"));
  }
  CHECK(points.size() == 6);
  CHECK(seeds == std::set<std::int64_t>{0, 1, 2}); // 24 draws cover [0, 3)
  CHECK(generate_configs(space, 4, 42) == configs); // the seed decides
  CHECK_FALSE(generate_configs(space, 4, 43) == configs);
}

TEST_CASE("loguniform spreads over the decades") {
  auto configs = generate_configs({{"lr", loguniform(1e-6, 1)}}, 400, 7);
  int below_1e3 = 0;
  for (auto& c : configs)
    below_1e3 += c.number("lr") < 1e-3;
  CHECK(below_1e3 > 140); // half the decades: about 200 of 400 (uniform would give 0)
  CHECK(below_1e3 < 260);
}

TEST_CASE("bad domains and missing names are named") {
  CHECK_THROWS_AS(grid({}), std::invalid_argument);
  CHECK_THROWS_AS(uniform(1, 1), std::invalid_argument);
  CHECK_THROWS_AS(loguniform(0, 1), std::invalid_argument);
  config c{{{"lr", 0.1}, {"opt", "sgd"}}};
  CHECK_THROWS_WITH_AS(static_cast<void>(c.number("momentum")),
                       doctest::Contains("no \"momentum\""), std::out_of_range);
  CHECK_THROWS_AS(static_cast<void>(c.number("opt")), std::invalid_argument);
  CHECK_THROWS_AS(static_cast<void>(c.text("lr")), std::invalid_argument);
  CHECK(c.to_string() == "lr=0.1 opt=sgd");
}
