// Unit tests of shared task names (task_name.hpp).
#include "lib/core/task_name.hpp"

#include <doctest/doctest.h>

#include <string>

#include "troupe/detail/registry.hpp"

using troupe::detail::call_name;
using troupe::detail::function_entry;
using troupe::detail::shared_name;
using troupe::detail::task_name;

TEST_CASE("a method call's name is its actor's name and the method's") {
  function_entry add;
  add.name = "counter::add";
  CHECK(call_name("counter", add) == "counter: counter::add");
  CHECK(call_name("", add) == "counter::add"); // a plain task: the function
  CHECK(call_name("other", add) == "other: counter::add");
}

TEST_CASE("calls asked for again share one string") {
  function_entry f;
  f.name = "cell::touch";
  auto a = call_name("envelope_cell", f);
  auto b = call_name("envelope_cell", f);
  CHECK(&a.str() == &b.str());
  function_entry g;
  g.name = "cell::touch"; // another function of the same name: the same text
  CHECK(&call_name("envelope_cell", g).str() == &a.str());
  CHECK(call_name("envelope_cell#2", f) == "envelope_cell#2: cell::touch");
  CHECK(&call_name("envelope_cell#2", f).str() != &a.str());
}

TEST_CASE("the cache keeps names right past its size") {
  function_entry f;
  f.name = "m";
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < 1000; ++i)
      REQUIRE(call_name("actor-" + std::to_string(i), f) == "actor-" + std::to_string(i) + ": m");
  auto kept = call_name("actor-7", f); // a name outlives its slot's reuse
  for (int i = 0; i < 1000; ++i)
    call_name("evict-" + std::to_string(i), f);
  CHECK(kept == "actor-7: m");
}

TEST_CASE("a name of its own is shared too, and an empty one is empty") {
  CHECK(shared_name("nightly job") == "nightly job");
  CHECK(&shared_name("nightly job").str() == &shared_name("nightly job").str());
  task_name none;
  CHECK(none.empty());
  CHECK(none == "");
  task_name from_text = "x";
  CHECK(from_text.str() == "x");
}

TEST_CASE("past the interned bound, names are owned and still right") {
  function_entry f;
  f.name = "bounded";
  // Fill the set (names from other test cases count too), then go past it.
  for (std::size_t i = 0; i < troupe::detail::max_interned_names; ++i)
    call_name("fill-" + std::to_string(i), f);
  auto a = call_name("past-the-bound", f);
  CHECK(a == "past-the-bound: bounded");
  auto copy = a;
  CHECK(&copy.str() == &a.str()); // copies share the owned string
  CHECK(call_name("fill-3", f) == "fill-3: bounded"); // interned ones stay
}

TEST_CASE("a plain task's name is its function's own string") {
  function_entry f;
  f.name = "a_rather_long_function_name";
  CHECK(&call_name("", f).str() == &f.name);
}
