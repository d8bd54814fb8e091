#include "lib/net/connection_limits.hpp"

#include <vector>

#include <doctest/doctest.h>

using namespace troupe::net;

TEST_CASE("a peer address holds at most the limit of connections; a closed one frees "
          "its slot, and other addresses are counted apart") {
  auto limits = std::make_shared<connection_limits>(3);
  std::vector<connection_slot> open;
  for (int i = 0; i < 3; ++i) {
    auto slot = limits->admit("10.0.0.1");
    REQUIRE(slot);
    open.push_back(std::move(slot));
  }
  CHECK_FALSE(limits->admit("10.0.0.1"));
  CHECK(limits->open_from("10.0.0.1") == 3);
  CHECK(limits->admit("10.0.0.2"));
  CHECK(limits->open_from("10.0.0.2") == 0); // that slot is gone already
  open.pop_back();
  CHECK(limits->open_from("10.0.0.1") == 2);
  CHECK(limits->admit("10.0.0.1"));
}
