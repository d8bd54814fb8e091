// A pool chunk's task, run directly: the registry's invoker on each item,
// no cluster.
#include "troupe/pool.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace {

int times_ten_unless_13(int x) {
  if (x == 13)
    throw std::domain_error("13 is unlucky");
  return 10 * x;
}
TROUPE_REMOTE(times_ten_unless_13);

std::string joined(std::string a, int b) {
  return a + std::to_string(b);
}
TROUPE_REMOTE(joined);

troupe::detail::pool_chunk chunk_of(const std::string& fn, std::uint64_t first,
                                    const std::vector<int>& xs) {
  troupe::detail::pool_chunk c;
  c.function = fn;
  c.first = first;
  c.arity = 1;
  c.encodings = {static_cast<std::uint8_t>(troupe::encoding::caf_binary)};
  for (int x : xs)
    c.args.push_back(troupe::detail::to_bytes(x));
  return c;
}

} // namespace

TEST_CASE("a chunk applies the function to each item, in order") {
  auto r = troupe::detail::run_pool_chunk(chunk_of("times_ten_unless_13", 100, {1, 2, 3}));
  CHECK_FALSE(r.failed);
  CHECK(r.first == 100);
  REQUIRE(r.values.size() == 3);
  CHECK(troupe::detail::from_bytes<int>(r.values[2]) == 30);
}

TEST_CASE("a chunk stops at the first item that throws and names it") {
  auto r = troupe::detail::run_pool_chunk(chunk_of("times_ten_unless_13", 10, {11, 12, 13, 14}));
  CHECK(r.failed);
  CHECK(r.failed_index == 12); // the chunk's third item, 13
  CHECK(r.exception_type == "std::domain_error");
  CHECK(r.message == "13 is unlucky");
  CHECK(r.values.size() == 2);
}

TEST_CASE("a chunk of two arguments per item; mismatches are refused") {
  troupe::detail::pool_chunk c;
  c.function = "joined";
  c.arity = 2;
  c.encodings = {0, 0};
  c.args = {troupe::detail::to_bytes(std::string{"a"}), troupe::detail::to_bytes(1),
            troupe::detail::to_bytes(std::string{"b"}), troupe::detail::to_bytes(2)};
  auto r = troupe::detail::run_pool_chunk(c);
  REQUIRE(r.values.size() == 2);
  CHECK(troupe::detail::from_bytes<std::string>(r.values[1]) == "b2");
  c.arity = 1; // the function takes two
  CHECK_THROWS_AS(troupe::detail::run_pool_chunk(c), troupe::argument_type_error);
  CHECK_THROWS_AS(troupe::detail::run_pool_chunk(chunk_of("no_such_function", 0, {1})),
                  troupe::unknown_function_error);
}

TEST_CASE("chunk sizes follow Python's rule: about four chunks per process") {
  CHECK(troupe::detail::auto_chunksize(10'000, 2) == 1250);
  CHECK(troupe::detail::auto_chunksize(10, 2) == 2);
  CHECK(troupe::detail::auto_chunksize(0, 2) == 1);
  CHECK(troupe::detail::auto_chunksize(7, 0) == 2);
}
