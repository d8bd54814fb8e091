// Unit tests of the object table's streams (the consumer's side of a
// streaming generator) and of its wake-ups for awaiting coroutines.
#include "lib/core/object_table.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "lib/protocol/handles.hpp"
#include "troupe/errors.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::error_info;
using troupe::error_kind;
using troupe::object_id;
using troupe::stream_actor;
using troupe::detail::after;
using troupe::detail::object_table;
using troupe::detail::ref_ptr;
using troupe::detail::stored_value;
using troupe::detail::stream_item_id;
using status = object_table::status;

constexpr std::uint64_t me = 0xc3c3c3c3;

stored_value inline_value(const std::string& bytes) {
  stored_value v;
  v.type_hash = 42;
  v.type_name = "demo::blob";
  v.inline_data = std::make_shared<const std::vector<char>>(bytes.begin(), bytes.end());
  return v;
}

stored_value in_store_value(std::uint64_t offset) {
  stored_value v = inline_value("");
  v.inline_data = nullptr;
  v.in_store = true;
  v.offset = offset;
  v.size = 8;
  return v;
}

/// A table with a stream of backpressure `bp` whose call object exists, as
/// `submit_call` leaves them; records unpins.
struct fixture {
  std::vector<std::uint64_t> unpinned;
  object_table t{me,
                 [this](std::uint64_t off, std::uint64_t) { unpinned.push_back(off); },
                 [](const stored_value&) -> troupe::detail::raw_value {
                   throw std::logic_error("no store here");
                 }};
  object_id stream;
  ref_ptr done;
  std::vector<std::pair<stream_actor, std::uint64_t>> acks;

  explicit fixture(std::uint32_t bp = 0) {
    stream = t.open_stream(bp);
    done = t.create_owned(stream, "gen");
  }

  ref_ptr next(troupe::detail::deadline until = std::nullopt) {
    return t.next_item(
        stream, until,
        [this](const stream_actor& p, std::uint64_t n) { acks.emplace_back(p, n); }, {});
  }

  std::string value_of(const ref_ptr& r) {
    auto raw = t.wait_value(r->id(), std::nullopt, {});
    auto* p = reinterpret_cast<const char*>(raw.data);
    return {p, p + raw.size};
  }
};

/// An actor system and a stream actor that does nothing: a producer handle.
struct producer_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  // With an argument: CAF 0.17 binds a reference to a null tuple otherwise.
  stream_actor producer = sys.spawn(
      [](int) -> stream_actor::behavior_type {
        return {[](troupe::ack_atom, const object_id&, std::uint64_t) {}};
      },
      0);
  ~producer_fixture() { caf::anon_send_exit(producer, caf::exit_reason::user_shutdown); }
};

} // namespace

TEST_CASE("stream ids are apart from other ids and items follow from them") {
  fixture f;
  auto second = f.t.open_stream(0);
  CHECK(f.stream.owner == me);
  CHECK((f.stream.seq >> 63) == 1);
  CHECK(second.seq - f.stream.seq == (1ULL << 32));
  CHECK(stream_item_id(f.stream, 3) == object_id{me, f.stream.seq + 3});
}

TEST_CASE("a stream's items are taken in order, whatever order they arrive in") {
  fixture f;
  CHECK(f.t.push_item(f.stream, 2, inline_value("two"), {}));
  CHECK(f.t.push_item(f.stream, 1, inline_value("one"), {}));
  auto a = f.next();
  auto b = f.next();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->id() == stream_item_id(f.stream, 1));
  CHECK(f.value_of(a) == "one");
  CHECK(f.value_of(b) == "two");
  CHECK(f.t.peek(a->id()) == status::ready);
}

TEST_CASE(
    "a stream ends after the items its end announced, even those still on their way") {
  fixture f;
  f.t.push_item(f.stream, 1, inline_value("one"), {});
  f.t.end_stream(f.stream, 2);
  f.t.fulfill(f.stream, inline_value(""));
  CHECK(f.value_of(f.next()) == "one");
  // Item 2 arrives once the consumer is about to wait for it.
  std::thread late;
  auto two = f.t.next_item(f.stream, after(10s), {}, [&] {
    late = std::thread([&] { f.t.push_item(f.stream, 2, inline_value("two"), {}); });
  });
  late.join();
  REQUIRE(two);
  CHECK(f.value_of(two) == "two");
  CHECK(f.next() == nullptr);
  CHECK(f.next() == nullptr); // and stays ended
}

TEST_CASE("a generator's error comes after the items it yielded") {
  fixture f;
  f.t.push_item(f.stream, 1, inline_value("one"), {});
  f.t.end_stream(f.stream, 1);
  f.t.fail(f.stream, {error_kind::task_failed, "gen", "std::runtime_error", "broke"});
  CHECK(f.value_of(f.next()) == "one");
  CHECK_THROWS_AS(f.next(), troupe::task_error);
}

TEST_CASE("a crash without a count ends the stream after the items that arrived") {
  fixture f;
  f.t.push_item(f.stream, 1, inline_value("one"), {});
  f.t.fail(f.stream, {error_kind::worker_crashed, "gen", "", "killed by signal 9"});
  CHECK(f.value_of(f.next()) == "one");
  CHECK_THROWS_AS(f.next(), troupe::worker_crashed_error);
}

TEST_CASE("next with a deadline throws timeout_error and the item is taken later") {
  fixture f;
  CHECK_THROWS_AS(f.next(after(20ms)), troupe::timeout_error);
  f.t.push_item(f.stream, 1, inline_value("one"), {});
  CHECK(f.value_of(f.next(after(20ms))) == "one");
}

TEST_CASE("closing a stream releases the items not taken; later items are refused") {
  fixture f;
  f.t.push_item(f.stream, 1, in_store_value(100), {});
  f.t.push_item(f.stream, 2, in_store_value(200), {});
  auto taken = f.next();
  CHECK_FALSE(f.t.close_stream(f.stream)); // no producer known: nobody to tell
  CHECK(f.unpinned == std::vector<std::uint64_t>{200});
  CHECK_FALSE(f.t.contains(stream_item_id(f.stream, 2)));
  CHECK(f.t.contains(taken->id())); // the consumer's own
  CHECK_FALSE(f.t.push_item(f.stream, 3, in_store_value(300), {}));
  CHECK(f.unpinned == std::vector<std::uint64_t>{200, 300});
  taken = nullptr;
  CHECK(f.unpinned == std::vector<std::uint64_t>{200, 300, 100});
}

TEST_CASE("the consumer acknowledges every backpressure/2 items taken, and all before it "
          "waits") {
  producer_fixture p;
  fixture f{4};
  for (std::uint64_t i = 1; i <= 5; ++i)
    f.t.push_item(f.stream, i, inline_value(std::to_string(i)), p.producer);
  f.next(); // 1 taken: not yet
  CHECK(f.acks.empty());
  f.next(); // 2 taken: acknowledged with it
  REQUIRE(f.acks.size() == 1);
  CHECK(f.acks[0].first == p.producer);
  CHECK(f.acks[0].second == 2);
  f.next();
  f.next();
  REQUIRE(f.acks.size() == 2);
  CHECK(f.acks[1].second == 4);
  f.next(); // 5 taken: owed, not yet due
  CHECK(f.acks.size() == 2);
  CHECK_THROWS_AS(f.next(after(20ms)), troupe::timeout_error);
  REQUIRE(f.acks.size() == 3); // told before it waited
  CHECK(f.acks[2].second == 5);
  // Dropping a stream whose generator runs names its producer.
  CHECK(f.t.close_stream(f.stream) == p.producer);
}

TEST_CASE("without backpressure the consumer never acknowledges") {
  producer_fixture p;
  fixture f{0};
  for (std::uint64_t i = 1; i <= 3; ++i)
    f.t.push_item(f.stream, i, inline_value("x"), p.producer);
  for (int i = 0; i < 3; ++i)
    f.next();
  f.t.end_stream(f.stream, 3);
  f.t.fulfill(f.stream, inline_value(""));
  CHECK(f.next() == nullptr);
  CHECK(f.acks.empty());
  CHECK_FALSE(f.t.close_stream(f.stream)); // ended: nobody to stop
}

TEST_CASE(
    "when_ready wakes once the object is ready or failed, and not when it is already") {
  fixture f;
  int woken = 0;
  auto a = f.t.create_owned({me, 1}, "a");
  auto b = f.t.create_owned({me, 2}, "b");
  CHECK(f.t.when_ready(a->id(), [&] { ++woken; }));
  CHECK(f.t.when_ready(b->id(), [&] { woken += 10; }));
  CHECK(woken == 0);
  f.t.fulfill(a->id(), inline_value("a"));
  CHECK(woken == 1);
  f.t.fail(b->id(), {error_kind::task_failed, "b", "", "no"});
  CHECK(woken == 11);
  CHECK_FALSE(f.t.when_ready(a->id(), [&] { woken += 100; }));
  CHECK_FALSE(f.t.when_ready({me, 99}, [&] { woken += 100; })); // unknown
  CHECK(woken == 11);
}

TEST_CASE("when_ready wakes awaiters of a borrowed object whose owner died") {
  producer_fixture p; // any actor stands for the owner
  fixture f;
  auto owner = troupe::handle_cast<caf::actor>(p.producer);
  auto borrowed = f.t.from_wire({0xdead, 1}, owner);
  int woken = 0;
  CHECK(f.t.when_ready(borrowed->id(), [&] { ++woken; }));
  f.t.fail_borrowed_from(owner.address(), {error_kind::owner_died, "", "", "gone"});
  CHECK(woken == 1);
}

TEST_CASE("when_next wakes an awaiting consumer on the next item or on the end") {
  // A wake may come more than once (item and end both call it): the host
  // resumes a token once.
  fixture f;
  int on_item = 0, on_end = 0, late = 0;
  CHECK(f.t.when_next(f.stream, [&] { ++on_item; }, {}));
  f.t.push_item(f.stream, 1, inline_value("one"), {});
  CHECK(on_item >= 1);
  CHECK_FALSE(f.t.when_next(f.stream, [&] { ++late; }, {})); // item 1 is there
  f.next();
  CHECK(f.t.when_next(f.stream, [&] { ++on_end; }, {}));
  f.t.end_stream(f.stream, 1);
  f.t.fulfill(f.stream, inline_value(""));
  CHECK(on_end >= 1);
  CHECK_FALSE(f.t.when_next(f.stream, [&] { ++late; }, {})); // ended
  CHECK(late == 0);
}

TEST_CASE("a consumer about to await the next item first acknowledges every item taken") {
  producer_fixture p;
  fixture f{4};
  f.t.push_item(f.stream, 1, inline_value("one"), p.producer);
  f.next();
  CHECK(f.acks.empty()); // 1 taken: not due yet
  auto ack = [&](const stream_actor& who, std::uint64_t n) {
    f.acks.emplace_back(who, n);
  };
  CHECK(f.t.when_next(
      f.stream, [] {}, ack));
  REQUIRE(f.acks.size() == 1);
  CHECK(f.acks[0].second == 1);
}
