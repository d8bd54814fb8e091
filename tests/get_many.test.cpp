// A get of many refs at once (client_get_many.cpp): values in other nodes'
// stores are pulled a window at a time and their owners asked together; the
// values come back in order, and a failure among them leaves no copy pinned.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/three_nodes.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::test::on;
using troupe::test::three_nodes;

namespace {

using int_ref = troupe::object_ref<std::int64_t>;

/// `count` values from `first` on, each put in this node's store.
std::vector<int_ref> put_stored(std::int64_t first, std::int64_t count) {
  std::vector<int_ref> refs;
  for (auto i = first; i < first + count; ++i)
    refs.push_back(troupe::put(i, {.in_store = true}));
  return refs;
}
TROUPE_REMOTE(put_stored);

/// A value small enough to travel inline, owned by the worker.
int_ref put_inline(std::int64_t x) { return troupe::put(x); }
TROUPE_REMOTE(put_inline);

std::vector<int> block_of(int seed) { return std::vector<int>(256 * 1024, seed); } // 1 MiB
TROUPE_REMOTE(block_of);

std::vector<int> bad_block(int) { throw std::runtime_error("bad block"); }
TROUPE_REMOTE(bad_block);

} // namespace

TEST_CASE("get of many refs: values from every node's store and inline ones, in order") {
  three_nodes c;
  auto from2 = troupe::get(troupe::task(put_stored, on(2)).remote(0, 300), 60s);
  auto from3 = troupe::get(troupe::task(put_stored, on(3)).remote(300, 300), 60s);
  std::vector<int_ref> refs;
  std::vector<std::int64_t> expected;
  for (std::int64_t i = 0; i < 300; ++i) {
    refs.push_back(from3[static_cast<std::size_t>(299 - i)]);
    expected.push_back(599 - i);
    refs.push_back(from2[static_cast<std::size_t>(i)]);
    expected.push_back(i);
    if (i % 50 == 0) { // the others a get reads: inline, the driver's own
      refs.push_back(troupe::get(troupe::task(put_inline, on(3)).remote(1000 + i), 30s));
      expected.push_back(1000 + i);
      refs.push_back(troupe::put(2000 + i, {.in_store = true}));
      expected.push_back(2000 + i);
      refs.push_back(troupe::put(3000 + i));
      expected.push_back(3000 + i);
    }
  }
  CHECK(troupe::get(refs, 60s) == expected);
  CHECK(troupe::get(refs) == expected); // again, from the copies pulled
}

TEST_CASE("get of many refs: a failure among pulled values throws it and pins no copy") {
  three_nodes c;
  // Node 1's store holds 64 MiB: copies left pinned by a failed get (40 MiB
  // of pulls a round) would fill it within two rounds.
  for (int round = 0; round < 4; ++round) {
    CAPTURE(round);
    std::vector<troupe::object_ref<std::vector<int>>> blocks;
    for (int i = 0; i < 41; ++i)
      blocks.push_back(i == 10 ? troupe::task(bad_block, on(3)).remote(i)
                               : troupe::task(block_of, on(i % 2 == 0 ? 2 : 3)).remote(i));
    REQUIRE(troupe::wait(blocks, blocks.size(), 60s).ready.size() == blocks.size());
    try {
      troupe::get(blocks, 60s);
      FAIL("a failed block was read");
    } catch (const troupe::task_error& e) {
      CHECK(std::string{e.what()}.find("bad block") != std::string::npos);
    }
    blocks.erase(blocks.begin() + 10);
    auto values = troupe::get(blocks, 60s);
    REQUIRE(values.size() == 40);
    for (std::size_t i = 0; i < values.size(); ++i)
      CHECK(values[i][12345] == static_cast<int>(i < 10 ? i : i + 1));
  }
}
