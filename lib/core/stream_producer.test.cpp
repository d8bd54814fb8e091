// Unit tests of the producer side of streams: consumers' acks as credits
// that hold a generator back or let it go on.
#include "lib/core/stream_producer.hpp"

#include <thread>

#include <doctest/doctest.h>

namespace {

using troupe::object_id;
using troupe::detail::stream_credits;

const object_id stream{7, 1ULL << 63};

} // namespace

TEST_CASE("a producer waits until its consumer took enough items") {
  stream_credits c;
  c.open(stream);
  c.ack(stream, 1);
  CHECK(c.wait(stream, 1, {})); // there already
  // Acked from another thread once the producer waits (give_up is asked
  // while it waits, at the latest every 500 ms).
  std::thread consumer;
  bool started = false;
  CHECK(c.wait(stream, 3, [&] {
    if (!started) {
      started = true;
      consumer = std::thread([&] { c.ack(stream, 3); });
    }
    return false;
  }));
  consumer.join();
  CHECK_FALSE(c.dropped(stream));
}

TEST_CASE("an async producer is woken once, by the ack that frees it") {
  stream_credits c;
  c.open(stream);
  CHECK(c.when(stream, 0, [] { FAIL("woken though free"); }));
  int woken = 0;
  CHECK_FALSE(c.when(stream, 2, [&] { ++woken; }));
  c.ack(stream, 1);
  CHECK(woken == 0);
  c.ack(stream, 2);
  CHECK(woken == 1);
  c.ack(stream, 5);
  CHECK(woken == 1);
  c.ack(stream, 4); // an ack overtaken by a later one changes nothing
  CHECK(c.when(stream, 5, [] { FAIL("woken though free"); }));
}

TEST_CASE("a dropped stream frees its producer, which stops") {
  stream_credits c;
  c.open(stream);
  int woken = 0;
  CHECK_FALSE(c.when(stream, 10, [&] { ++woken; }));
  c.ack(stream, stream_credits::dropped_mark);
  CHECK(woken == 1);
  CHECK(c.dropped(stream));
  CHECK_FALSE(c.wait(stream, 10, {}));
}

TEST_CASE("a producer that gives up stops waiting; acks of closed streams are ignored") {
  stream_credits c;
  c.open(stream);
  CHECK_FALSE(c.wait(stream, 1, [] { return true; }));
  c.close(stream);
  c.ack(stream, 3);
  CHECK_FALSE(c.dropped(stream));
  CHECK(c.when(stream, 1, [] { FAIL("no stream to wait for"); }));
}
