#include "asha.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

using troupe::tune::detail::asha;
using troupe::tune::detail::quantile;

TEST_CASE("rungs sit at grace_period times powers of the reduction factor, below max_t") {
  CHECK(asha(100, 1, 4, true).milestones() == std::vector<int>{1, 4, 16, 64});
  CHECK(asha(30, 2, 3, true).milestones() == std::vector<int>{2, 6, 18});
  CHECK(asha(1, 1, 4, true).milestones().empty());
  CHECK_THROWS_AS(asha(10, 0, 4, true), std::invalid_argument);
  CHECK_THROWS_AS(asha(10, 1, 1, true), std::invalid_argument);
}

TEST_CASE("quantiles interpolate as numpy's") {
  CHECK(quantile({1, 2, 3, 4}, 0.75) == doctest::Approx(3.25));
  CHECK(quantile({5}, 0.75) == 5);
  CHECK(quantile({3, 1, 2}, 0.5) == 2);
}

TEST_CASE("a trial outside the top quarter of its rung stops; the first at a rung goes on") {
  asha s(100, 1, 4, true);
  CHECK_FALSE(s.should_stop(0, 1, 0.5)); // first at rung 1
  CHECK_FALSE(s.should_stop(1, 1, 0.9)); // above the 0.75 quantile of {0.5}
  CHECK(s.should_stop(2, 1, 0.6));       // below the 0.75 quantile of {0.5, 0.9} = 0.8
  CHECK_FALSE(s.should_stop(3, 1, 0.95));
  // Between rungs nothing is decided; each rung judges a trial once.
  CHECK_FALSE(s.should_stop(0, 2, 0.0));
  CHECK_FALSE(s.should_stop(0, 3, 0.0));
  CHECK_FALSE(s.should_stop(0, 4, 0.1)); // first at rung 4
  CHECK(s.should_stop(1, 4, 0.05));      // worse than trial 0 there
}

TEST_CASE("with mode min smaller is better; NaN is not judged") {
  asha s(100, 1, 2, false);
  CHECK_FALSE(s.should_stop(0, 1, 10.0));
  CHECK(s.should_stop(1, 1, 20.0));       // a loss above the median of {10}
  CHECK_FALSE(s.should_stop(2, 1, 5.0));
  CHECK_FALSE(s.should_stop(3, 1, std::nan("")));
}

TEST_CASE("a trial jumping past several rungs is judged at the highest it reached") {
  asha s(100, 1, 4, true);
  CHECK_FALSE(s.should_stop(0, 16, 0.9));
  CHECK(s.should_stop(1, 20, 0.1)); // rung 16, against trial 0
  CHECK_FALSE(s.should_stop(2, 1, 0.1)); // rung 1 is still empty
}
