// troupe::pool on a real local cluster: map is std::transform across worker
// processes, in chunks, at most `processes` chunks at once.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unistd.h>
#include <vector>

#include "tests/cluster_fixture.hpp"
#include "tests/rendezvous.hpp"
#include "troupe/pool.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;
using troupe::test::temp_dir;

namespace {

std::int64_t mix(std::int64_t x) {
  return x * x * 31 + (x ^ 0x5bd1e995) - 7;
}
TROUPE_REMOTE(mix);

std::string label(std::string prefix, int n) {
  return prefix + std::to_string(n);
}
TROUPE_REMOTE(label);

int fails_at_1234(int x) {
  if (x == 1234)
    throw std::invalid_argument("no 1234 here");
  return x;
}
TROUPE_REMOTE(fails_at_1234);

int not_registered(int x) {
  return x;
}

/// Counts the items inside it at once (across processes); with `rendezvous`
/// it also waits, up to 20 s, until two items are inside together.
int inside_at_once(std::string dir, int item, bool rendezvous) {
  troupe::test::overlap_gauge gauge{dir};
  gauge.enter();
  if (rendezvous)
    troupe::test::eventually([&] { return gauge.most() >= 2; }, 20s);
  else
    ::usleep(20'000); // long enough that a second chunk would overlap
  gauge.leave();
  return item;
}
TROUPE_REMOTE(inside_at_once);

/// Item "DIR#X" gives X; item 0 only once the file DIR/go exists.
int waits_for_go(std::string item) {
  auto hash = item.find('#');
  auto x = std::stoi(item.substr(hash + 1));
  if (x == 0 && !troupe::test::file_appears(item.substr(0, hash) + "/go", 20s))
    throw std::runtime_error("nobody wrote go");
  return x;
}
TROUPE_REMOTE(waits_for_go);

} // namespace

TEST_CASE("map over 10,000 items gives what std::transform gives, in chunks of any size") {
  local_cluster cluster;
  troupe::pool p;
  CHECK(p.processes() == 2); // the cluster's CPUs
  std::vector<std::int64_t> xs(10'000);
  std::iota(xs.begin(), xs.end(), -5000);
  std::vector<std::int64_t> expected(xs.size());
  std::transform(xs.begin(), xs.end(), expected.begin(), mix);
  CHECK(p.map(mix, xs) == expected);
  CHECK(p.map(mix, xs, 7) == expected); // uneven chunks, the last one short
  CHECK(p.map(mix, std::vector<std::int64_t>{}).empty());
}

TEST_CASE("starmap takes tuples of arguments; apply_async gives a ref") {
  local_cluster cluster;
  troupe::pool p(2);
  std::vector<std::tuple<std::string, int>> args{{"a", 1}, {"b", 2}, {"c", 3}};
  CHECK(p.starmap(label, args) == std::vector<std::string>{"a1", "b2", "c3"});
  auto r = p.apply_async(label, "x", 9);
  CHECK(troupe::get(r) == "x9");
}

TEST_CASE("an item that throws names its index, type and message; the pool goes on") {
  local_cluster cluster;
  troupe::pool p(2);
  std::vector<int> xs(3000);
  std::iota(xs.begin(), xs.end(), 0);
  try {
    p.map(fails_at_1234, xs, 100);
    FAIL("map did not throw");
  } catch (const troupe::pool_item_error& e) {
    CHECK(e.index() == 1234);
    CHECK(e.exception_type() == "std::invalid_argument");
    CHECK(e.message() == "no 1234 here");
    CHECK(std::string{e.what()}.find("item 1234") != std::string::npos);
  }
  xs.resize(1000); // the same pool, items that do not throw
  CHECK(p.map(fails_at_1234, xs, 100) == xs);
}

TEST_CASE("an unregistered function is refused at once, by name") {
  local_cluster cluster;
  troupe::pool p(1);
  CHECK_THROWS_AS(p.map(not_registered, std::vector<int>{1, 2}), troupe::unknown_function_error);
}

TEST_CASE("chunks run in parallel up to `processes`, and never more") {
  local_cluster cluster;
  temp_dir two, one;
  std::vector<std::tuple<std::string, int, bool>> both{{two.str(), 0, true},
                                                       {two.str(), 1, true}};
  // One item per chunk: the two meet only if their chunks run at once.
  troupe::pool wide(2);
  CHECK(wide.starmap(inside_at_once, both, 1) == std::vector<int>{0, 1});
  CHECK(troupe::test::overlap_gauge{two.str()}.most() == 2);

  std::vector<std::tuple<std::string, int, bool>> six;
  for (int i = 0; i < 6; ++i)
    six.emplace_back(one.str(), i, false);
  troupe::pool narrow(1);
  CHECK(narrow.starmap(inside_at_once, six, 1) == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(troupe::test::overlap_gauge{one.str()}.most() == 1);
}

TEST_CASE("imap gives results in order as they come; imap_unordered as chunks finish") {
  local_cluster cluster;
  troupe::pool p(2);
  std::vector<std::int64_t> xs{3, 1, 4, 1, 5, 9, 2, 6};
  std::vector<std::int64_t> got;
  for (auto y : p.imap(mix, xs, 3))
    got.push_back(y);
  std::vector<std::int64_t> expected(xs.size());
  std::transform(xs.begin(), xs.end(), expected.begin(), mix);
  CHECK(got == expected);

  // Item 0 waits until the other three came back: unordered, it comes last.
  temp_dir dir;
  std::vector<std::string> items;
  for (int i = 0; i < 4; ++i)
    items.push_back(dir.str() + "#" + std::to_string(i));
  troupe::pool three(3);
  auto results = three.imap_unordered(waits_for_go, items, 1);
  std::set<int> first_three;
  for (int i = 0; i < 3; ++i)
    first_three.insert(results.next().value());
  CHECK(first_three == std::set<int>{1, 2, 3});
  troupe::test::write_file(dir / "go", "");
  CHECK(results.next() == 0);
  CHECK_FALSE(results.next().has_value());
}
