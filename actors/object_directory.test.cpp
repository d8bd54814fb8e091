// Unit tests of the object directory: owners and every node's copies.
#include "actors/object_directory.hpp"

#include <vector>

#include <doctest/doctest.h>

using troupe::object_directory;
using troupe::object_id;

TEST_CASE(
    "the object directory tracks every node's copy until it goes or its node dies") {
  object_directory d;
  object_id x{5, 1};
  d.record_location({x, 1, 4096, 1000, true});
  d.record_location({x, 2, 8192, 1000, true});
  d.record_location({x, 3, 64, 1000, true});
  auto l = d.locations_of(x);
  CHECK(l.size == 1000);
  CHECK(l.nodes == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(l.offsets == std::vector<std::uint64_t>{4096, 8192, 64});
  d.record_location({x, 1, 0, 0, false}); // freed on node 1
  d.node_died(3);
  l = d.locations_of(x);
  CHECK(l.nodes == std::vector<std::uint64_t>{2});
  CHECK(l.offsets == std::vector<std::uint64_t>{8192});
  // A report from a dead node is not believed; the last copy going
  // forgets the object.
  d.record_location({x, 3, 64, 1000, true});
  CHECK(d.locations_of(x).nodes.size() == 1);
  d.record_location({x, 2, 0, 0, false});
  CHECK(d.locations_of(x).nodes.empty());
  CHECK_FALSE(d.has_locations());
}

TEST_CASE("owners are found by id and forgotten with their node") {
  object_directory d;
  d.add_owner(1, {}, 1);
  d.add_owner(2, {}, 2);
  d.add_owner(3, {}, 2);
  CHECK(d.cores().size() == 3);
  auto left = d.node_died(2);
  CHECK(left.size() == 1);
  CHECK(d.cores().size() == 1);
  CHECK_FALSE(d.core_of(4)); // unknown: a null handle
}
