// Ray's other return shapes end to end: a tuple of N values gives N refs,
// and a streaming generator gives a stream of refs while it runs.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "lib/core/client.hpp"
#include "tests/cluster_fixture.hpp"
#include "tests/rendezvous.hpp"

using namespace std::chrono_literals;
using troupe::test::file_appears;
using troupe::test::local_cluster;
using troupe::test::temp_dir;
using troupe::test::write_file;

namespace {

std::tuple<int, std::string, std::vector<double>> split(int x) {
  return {2 * x, std::to_string(x),
          std::vector<double>(50'000, 0.5)}; // 400 kB: in the store
}
TROUPE_REMOTE(split);

int doubled_value(int x) {
  return 2 * x;
}
TROUPE_REMOTE(doubled_value);

/// Yields 1..n; before item 3 waits until the consumer saw item 1 (the file
/// `dir/got-1`): a stream sent only at the end would never get there.
troupe::generator<int> rendezvous_numbers(std::string dir, int n) {
  for (int i = 1; i <= n; ++i) {
    if (i == 3 && !file_appears(dir + "/got-1", 20s))
      throw std::runtime_error("the consumer never saw item 1 before item 3");
    co_yield i;
  }
}
TROUPE_REMOTE(rendezvous_numbers);

/// Yields 1..n, asserting that it never runs more than `ahead` items ahead
/// of its consumer, who writes `dir/asking-k` before it asks for item k; it
/// writes `dir/produced-k` as it yields item k.
troupe::generator<int> bounded_numbers(std::string dir, int n, int ahead) {
  for (int i = 1; i <= n; ++i) {
    // Item i may be made once item i - ahead was consumed (returned by
    // next()), so after the consumer asked for it.
    if (i > ahead && !file_appears(dir + "/asking-" + std::to_string(i - ahead), 0ms))
      throw std::runtime_error("item " + std::to_string(i) + " was made before item " +
                               std::to_string(i - ahead) + " was consumed");
    write_file(dir + "/produced-" + std::to_string(i), "");
    co_yield i;
  }
}
TROUPE_REMOTE(bounded_numbers);

troupe::generator<std::string> breaks_after(int n) {
  for (int i = 1; i <= n; ++i)
    co_yield "item " + std::to_string(i);
  throw std::runtime_error("broke after " + std::to_string(n));
}
TROUPE_REMOTE(breaks_after);

/// Yields 1, then crashes its worker once `dir/crash` exists.
troupe::generator<int> crashes_after_one(std::string dir) {
  co_yield 1;
  if (file_appears(dir + "/crash", 20s))
    std::raise(SIGKILL);
  co_yield 2;
}
TROUPE_REMOTE(crashes_after_one);

/// Yields forever, until its consumer drops the stream: its frame is
/// destroyed then, and `dir/stopped` written.
troupe::generator<int> endless(std::string dir) {
  struct on_exit {
    std::string path;
    ~on_exit() { write_file(path, ""); }
  } guard{dir + "/stopped"};
  for (int i = 1;; ++i)
    co_yield i;
}
TROUPE_REMOTE(endless);

/// A generator awaiting refs: each item is a task's result.
troupe::generator<int> doubled(int n) {
  for (int i = 1; i <= n; ++i)
    co_yield co_await troupe::task(doubled_value).remote(i);
}
TROUPE_REMOTE(doubled);

/// Sums a stream's items inside a task (a stream consumed by a worker).
int sum_stream(int n) {
  int total = 0;
  for (auto r : troupe::task(doubled).remote(n))
    total += troupe::get(r);
  return total;
}
TROUPE_REMOTE(sum_stream);

/// An async actor whose generator suspends, not blocks, when held back.
class producer {
public:
  troupe::generator<int> numbers(int n) {
    for (int i = 1; i <= n; ++i)
      co_yield co_await troupe::task(doubled_value).remote(i);
  }
  troupe::async<int> ping() { co_return 1; }
  std::tuple<int, std::string> pair(int x) { return {x, "x=" + std::to_string(x)}; }
  troupe::async<std::tuple<int, int>> split_later(int x) {
    int y = co_await troupe::task(doubled_value).remote(x);
    co_return std::tuple{y, -y};
  }
};

std::unique_ptr<producer> make_producer() {
  return std::make_unique<producer>();
}
TROUPE_REMOTE(make_producer);
TROUPE_REMOTE(&producer::numbers);
TROUPE_REMOTE(&producer::ping);
TROUPE_REMOTE(&producer::pair);
TROUPE_REMOTE(&producer::split_later);

/// A plain actor's generator method (runs on its thread, blocking).
class plain_producer {
public:
  troupe::generator<int> squares(int n) {
    for (int i = 1; i <= n; ++i)
      co_yield i* i;
  }
};

std::unique_ptr<plain_producer> make_plain_producer() {
  return std::make_unique<plain_producer>();
}
TROUPE_REMOTE(make_plain_producer);
TROUPE_REMOTE(&plain_producer::squares);

std::vector<int> all_values(troupe::object_ref_stream<int>& s) {
  std::vector<int> out;
  for (auto r : s)
    out.push_back(troupe::get(r, 30s));
  return out;
}

} // namespace

TEST_CASE("a task returning a tuple gives one ref per element, each its own object") {
  local_cluster cluster;
  auto [n, text, big] = troupe::task(split).remote(21);
  CHECK(n.id() != text.id());
  CHECK(text.id() != big.id());
  CHECK(troupe::get(text, 30s) == "21");
  CHECK(troupe::get(troupe::task(doubled_value).remote(n), 30s) ==
        84); // an argument alone
  CHECK(troupe::get_view(big).size() == 50'000);
  // Freed independently: dropping one leaves the others.
  auto& table = troupe::detail::client::get().table();
  auto big_id = big.id();
  big = {};
  CHECK_FALSE(table.contains(big_id));
  CHECK(table.contains(n.id()));
  CHECK(troupe::get(n, 30s) == 42);
}

TEST_CASE("methods returning tuples, directly or from a coroutine, give tuples of refs") {
  local_cluster cluster;
  auto p = troupe::actor(make_producer).remote();
  auto [x, label] = p.task(&producer::pair).remote(5);
  CHECK(troupe::get(x, 30s) == 5);
  CHECK(troupe::get(label, 30s) == "x=5");
  auto [y, minus_y] = p.task(&producer::split_later).remote(4);
  CHECK(troupe::get(y, 30s) == 8);
  CHECK(troupe::get(minus_y, 30s) == -8);
}

TEST_CASE("a stream's items are consumed while the generator still runs") {
  local_cluster cluster;
  temp_dir dir;
  auto s = troupe::task(rendezvous_numbers).remote(dir.str(), 5);
  auto first = s.next(30s);
  REQUIRE(first.has_value());
  CHECK(troupe::get(*first, 30s) == 1);
  write_file(dir / "got-1", ""); // the generator is held before item 3 until now
  std::vector<int> rest;
  for (auto r : s)
    rest.push_back(troupe::get(r, 30s));
  CHECK(rest == std::vector<int>{2, 3, 4, 5});
  CHECK_FALSE(s.next(30s).has_value()); // and stays ended
}

TEST_CASE("backpressure holds a generator at most N items ahead of its consumer") {
  local_cluster cluster;
  temp_dir dir;
  constexpr int ahead = 2;
  troupe::task_options o;
  o.generator_backpressure = ahead;
  auto s = troupe::task(bounded_numbers, o).remote(dir.str(), 8, ahead);
  auto produced = [&](int k) { return dir / ("produced-" + std::to_string(k)); };
  write_file(dir / "asking-1", "");
  auto first = s.next(30s);
  REQUIRE(first.has_value());
  CHECK(troupe::get(*first, 30s) == 1);
  // Item 1 is consumed: the producer makes items up to 1 + N, then waits
  // for the consumer (it throws if it ever got further ahead).
  REQUIRE(file_appears(produced(1 + ahead), 30s));
  CHECK_FALSE(std::filesystem::exists(produced(2 + ahead)));
  std::vector<int> values{1};
  for (int k = 2;; ++k) {
    write_file(dir / ("asking-" + std::to_string(k)), "");
    auto r = s.next(30s);
    if (!r)
      break;
    values.push_back(troupe::get(*r, 30s));
  }
  CHECK(values == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_CASE("an exception in a generator ends its stream with that error after its items") {
  local_cluster cluster;
  auto s = troupe::task(breaks_after).remote(2);
  CHECK(troupe::get(*s.next(30s), 30s) == "item 1");
  CHECK(troupe::get(*s.next(30s), 30s) == "item 2");
  try {
    s.next(30s);
    FAIL("no throw");
  } catch (const troupe::task_error& e) {
    CHECK(e.task_name() == "breaks_after");
    CHECK(e.exception_type() == "std::runtime_error");
    CHECK(e.message() == "broke after 2");
  }
}

TEST_CASE("a generator whose worker crashes ends its stream with worker_crashed_error") {
  local_cluster cluster;
  temp_dir dir;
  auto s = troupe::task(crashes_after_one).remote(dir.str());
  auto first = s.next(30s);
  REQUIRE(first.has_value());
  CHECK(troupe::get(*first, 30s) == 1);
  write_file(dir / "crash", "");
  try {
    s.next(30s);
    FAIL("no throw");
  } catch (const troupe::worker_crashed_error& e) {
    CHECK(e.reason().find("SIGKILL") != std::string::npos);
  }
  CHECK(troupe::get(*first, 30s) == 1); // items taken before stay valid
}

TEST_CASE("dropping a stream stops its generator") {
  local_cluster cluster;
  temp_dir dir;
  troupe::task_options o;
  o.generator_backpressure = 2;
  {
    auto s = troupe::task(endless, o).remote(dir.str());
    CHECK(troupe::get(*s.next(30s), 30s) == 1);
    CHECK(troupe::get(*s.next(30s), 30s) == 2);
  }
  CHECK(file_appears(dir / "stopped", 30s));
}

TEST_CASE("generators await refs, and a task consumes a stream") {
  local_cluster cluster;
  auto s = troupe::task(doubled).remote(4);
  CHECK(all_values(s) == std::vector<int>{2, 4, 6, 8});
  CHECK(troupe::get(troupe::task(sum_stream).remote(10), 30s) == 110);
}

TEST_CASE(
    "an async actor's generator held back by backpressure lets the actor serve calls") {
  local_cluster cluster;
  auto p = troupe::actor(make_producer).remote();
  auto s = p.task(&producer::numbers).options({.generator_backpressure = 1}).remote(5);
  CHECK(troupe::get(*s.next(30s), 30s) == 2);
  // The generator is held back (suspended at a co_yield until the consumer
  // takes more): the actor's thread is free for other calls.
  CHECK(troupe::get(p.task(&producer::ping).remote(), 30s) == 1);
  std::vector<int> rest;
  for (auto r : s)
    rest.push_back(troupe::get(r, 30s));
  CHECK(rest == std::vector<int>{4, 6, 8, 10});
}

TEST_CASE("a plain actor's generator method streams its items") {
  local_cluster cluster;
  auto p = troupe::actor(make_plain_producer).remote();
  auto s = p.task(&plain_producer::squares).remote(4);
  CHECK(all_values(s) == std::vector<int>{1, 4, 9, 16});
}

namespace {

/// Yields 1, then waits until `path` exists (written by another call of its
/// consumer), then yields 2 and 3.
troupe::generator<int> waits_for_file(std::string path) {
  co_yield 1;
  if (!file_appears(path, 20s))
    throw std::runtime_error("nobody wrote " + path);
  co_yield 2;
  co_yield 3;
}
TROUPE_REMOTE(waits_for_file);

/// An async actor consuming a stream: awaiting its items suspends the call.
class stream_sink {
public:
  troupe::async<int> sum(std::string path) {
    int total = 0;
    auto s = troupe::task(waits_for_file).remote(path);
    while (auto r = co_await s.next_async())
      total += co_await *r;
    co_return total;
  }
  int touch(std::string path) {
    write_file(path, "");
    return 1;
  }
};

std::unique_ptr<stream_sink> make_stream_sink() {
  return std::make_unique<stream_sink>();
}
TROUPE_REMOTE(make_stream_sink);
TROUPE_REMOTE(&stream_sink::sum);
TROUPE_REMOTE(&stream_sink::touch);

} // namespace

TEST_CASE("an async actor awaits a stream's items while it serves other calls") {
  local_cluster cluster;
  temp_dir dir;
  auto sink = troupe::actor(make_stream_sink).remote();
  auto path = dir / "go-on";
  // The generator waits for `touch`, a call to the consumer itself: a
  // consumer blocked on the stream would never run it.
  auto total = sink.task(&stream_sink::sum).remote(path);
  CHECK(troupe::get(sink.task(&stream_sink::touch).remote(path), 30s) == 1);
  CHECK(troupe::get(total, 30s) == 6);
}
