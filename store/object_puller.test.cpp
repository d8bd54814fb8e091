// Unit tests of the pulling side of the object-store manager (object_puller):
// transfers in chunks, readers joining, failures, the cache and its eviction.
#include "store/object_puller.hpp"

#include <numeric>
#include <vector>

#include <doctest/doctest.h>

#include "troupe/errors.hpp"

using namespace troupe::store;
using troupe::encoding;
using troupe::object_id;

namespace {

constexpr std::size_t kib = 1024;

/// A store on the heap and a puller with 1 KiB chunks, 2 in flight.
struct fixture {
  heap_allocator alloc;
  object_store store{alloc};
  object_puller puller{store, kib, 2};

  explicit fixture(std::size_t capacity = 1 << 20) : alloc(capacity) {}

  /// What the holding node would send: `size` bytes counting up from `seed`.
  static std::vector<char> source_bytes(std::size_t size, int seed) {
    std::vector<char> out(size);
    for (std::size_t i = 0; i < size; ++i)
      out[i] = static_cast<char>((seed + i) & 0x7f);
    return out;
  }

  static remote_meta meta(std::size_t size) {
    return {size, 0xabc, "blob", encoding::raw_array};
  }

  /// Answers chunk requests from `bytes` until the transfer completes.
  object_puller::completed serve(std::vector<object_puller::chunk> asked,
                                 const std::vector<char>& bytes) {
    object_puller::completed done;
    while (!asked.empty()) {
      auto c = asked.front();
      asked.erase(asked.begin());
      auto more = puller.on_chunk(c, bytes.data() + c.start, c.length, &done);
      asked.insert(asked.end(), more.begin(), more.end());
    }
    return done;
  }

  bool holds(std::uint64_t offset, const std::vector<char>& bytes) {
    auto r = store.view(offset);
    return r.size == bytes.size()
           && std::equal(bytes.begin(), bytes.end(), reinterpret_cast<const char*>(r.data));
  }
};

const object_id a{7, 1};
const object_id b{7, 2};

} // namespace

TEST_CASE("a pull asks for the bytes in chunks, a few at a time, and seals the copy") {
  fixture f;
  bool start = false;
  CHECK_FALSE(f.puller.want({a, 3, 4096}, 11, &start).has_value());
  CHECK(start);
  REQUIRE(f.puller.transfer(a) != nullptr);
  CHECK(f.puller.transfer(a)->node == 3);
  CHECK(f.puller.transfer(a)->offset == 4096);
  auto bytes = fixture::source_bytes(3 * kib + 100, 5);
  object_puller::completed done;
  auto first = f.puller.on_meta(a, fixture::meta(bytes.size()), &done);
  REQUIRE(first.size() == 2); // in flight at most
  CHECK(first[0].start == 0);
  CHECK(first[0].length == kib);
  CHECK(first[1].start == kib);
  CHECK_FALSE(done.done);
  // Each answer asks for the next chunk; the last is the short rest.
  auto next = f.puller.on_chunk(first[0], bytes.data(), kib, &done);
  REQUIRE(next.size() == 1);
  CHECK(next[0].start == 2 * kib);
  auto third = next[0];
  next = f.puller.on_chunk(first[1], bytes.data() + kib, kib, &done);
  REQUIRE(next.size() == 1);
  CHECK(next[0].start == 3 * kib);
  CHECK(next[0].length == 100);
  CHECK(f.puller.on_chunk(third, bytes.data() + 2 * kib, kib, &done).empty());
  CHECK_FALSE(done.done);
  f.puller.on_chunk(next[0], bytes.data() + 3 * kib, 100, &done);
  REQUIRE(done.done);
  CHECK(done.waiters == std::vector<std::uint64_t>{11});
  CHECK(done.source.offset == 4096);
  CHECK(f.store.sealed(done.offset));
  CHECK(f.holds(done.offset, bytes));
  CHECK(f.store.pins(done.offset) == 2); // the cache's and the reader's
  CHECK(f.puller.transfers() == 0);
  CHECK(f.puller.cached() == 1);
  auto r = f.store.view(done.offset);
  CHECK(r.type_hash == 0xabc);
  CHECK(r.type_name == "blob");
  CHECK(r.id == a);
}

TEST_CASE("a second reader joins the transfer; later readers get the cached copy at once") {
  fixture f;
  bool start = false;
  f.puller.want({a, 3, 64}, 1, &start);
  CHECK(start);
  f.puller.want({a, 3, 64}, 2, &start);
  CHECK_FALSE(start); // no second transfer
  auto bytes = fixture::source_bytes(kib / 2, 9);
  object_puller::completed done;
  auto done2 = f.serve(f.puller.on_meta(a, fixture::meta(bytes.size()), &done), bytes);
  REQUIRE(done2.done);
  CHECK(done2.waiters == std::vector<std::uint64_t>{1, 2});
  CHECK(f.store.pins(done2.offset) == 3);
  auto again = f.puller.want({a, 3, 64}, 3, &start);
  REQUIRE(again.has_value());
  CHECK(*again == done2.offset);
  CHECK_FALSE(start);
  CHECK(f.store.pins(done2.offset) == 4);
}

TEST_CASE("an empty object is done as soon as it is described") {
  fixture f;
  bool start = false;
  f.puller.want({a, 2, 64}, 1, &start);
  object_puller::completed done;
  CHECK(f.puller.on_meta(a, fixture::meta(0), &done).empty());
  REQUIRE(done.done);
  CHECK(f.store.view(done.offset).size == 0);
}

TEST_CASE("a failed transfer frees its copy and names its readers; others go on") {
  fixture f;
  bool start = false;
  f.puller.want({a, 3, 64}, 1, &start);
  f.puller.want({a, 3, 64}, 2, &start);
  f.puller.want({b, 4, 64}, 3, &start);
  object_puller::completed done;
  f.puller.on_meta(a, fixture::meta(4 * kib), &done);
  CHECK(f.store.stats().live_objects == 1);
  CHECK(f.puller.pulling_from(3) == std::vector<object_id>{a});
  CHECK(f.puller.pulling_from(4) == std::vector<object_id>{b});
  CHECK(f.puller.fail(a) == std::vector<std::uint64_t>{1, 2});
  CHECK(f.store.stats().live_objects == 0); // the half-filled copy is gone
  CHECK(f.puller.transfer(a) == nullptr);
  CHECK(f.puller.fail(a).empty());
  // Late chunks of the failed transfer change nothing.
  std::vector<char> junk(kib);
  CHECK(f.puller.on_chunk({a, 0, kib, 0}, junk.data(), junk.size(), &done).empty());
  CHECK_FALSE(done.done);
  CHECK(f.puller.transfers() == 1);
  // A new reader starts over.
  f.puller.want({a, 3, 64}, 4, &start);
  CHECK(start);
}

TEST_CASE("a full store evicts cached copies nobody reads, least recently wanted first") {
  // Room for two 200 KiB objects, not three.
  fixture f{512 * kib};
  auto pull = [&](const object_id& id, std::uint64_t waiter, std::size_t size) {
    bool start = false;
    f.puller.want({id, 2, 64}, waiter, &start);
    auto bytes = fixture::source_bytes(size, static_cast<int>(id.seq));
    object_puller::completed done;
    auto chunks = f.puller.on_meta(id, fixture::meta(size), &done);
    done = f.serve(std::move(chunks), bytes);
    REQUIRE(done.done);
    return done.offset;
  };
  auto off_a = pull(a, 1, 200 * kib);
  auto off_b = pull(b, 2, 200 * kib);
  f.store.unpin(off_a); // the readers are done
  f.store.unpin(off_b);
  // Wanting `a` again makes `b` the least recently wanted.
  bool start = false;
  REQUIRE(f.puller.want({a, 2, 64}, 3, &start).has_value());
  f.store.unpin(off_a);
  object_id c{7, 3};
  pull(c, 4, 200 * kib);
  CHECK(f.puller.cached() == 2);
  CHECK(f.puller.take_evicted() == std::vector<object_id>{b});
  CHECK(f.puller.take_evicted().empty());
  CHECK(f.puller.want({a, 2, 64}, 5, &start).has_value()); // still cached
  CHECK_FALSE(f.puller.want({b, 2, 64}, 6, &start).has_value()); // evicted
  CHECK(start);
  f.puller.fail(b);
  // Copies that readers still pin are never evicted: the store is full.
  object_id d{7, 4};
  f.puller.want({d, 2, 64}, 7, &start);
  object_puller::completed done;
  CHECK_THROWS_AS(f.puller.on_meta(d, fixture::meta(200 * kib), &done),
                  troupe::object_store_full);
}

TEST_CASE("a transfer restarted from another copy ignores the first source's late chunks") {
  fixture f;
  bool start = false;
  f.puller.want({a, 3, 64}, 1, &start);
  auto bytes = fixture::source_bytes(2 * kib, 3);
  object_puller::completed done;
  auto from3 = f.puller.on_meta(a, fixture::meta(bytes.size()), &done);
  REQUIRE(from3.size() == 2);
  f.puller.on_chunk(from3[0], bytes.data(), kib, &done);
  // Node 3 died; node 5 has a copy at another offset.
  REQUIRE(f.puller.restart(a, {a, 5, 128}));
  CHECK(f.puller.transfer(a)->node == 5);
  CHECK(f.puller.transfer(a)->offset == 128);
  CHECK(f.store.stats().live_objects == 0); // the partial copy went
  auto from5 = f.puller.on_meta(a, fixture::meta(bytes.size()), &done);
  REQUIRE(from5.size() == 2);
  // Node 3's last answer arrives late: it must not count.
  std::vector<char> stale(kib, 'x');
  CHECK(f.puller.on_chunk(from3[1], stale.data(), kib, &done).empty());
  CHECK_FALSE(done.done);
  done = f.serve(from5, bytes);
  REQUIRE(done.done);
  CHECK(done.waiters == std::vector<std::uint64_t>{1});
  CHECK(done.source.node == 5);
  CHECK(f.holds(done.offset, bytes));
  CHECK_FALSE(f.puller.restart(b, {b, 5, 0}));
}

TEST_CASE("a transfer over the data channel asks for big pieces, written in place") {
  fixture f;
  bool start = false;
  f.puller.want({a, 3, 64}, 1, &start);
  CHECK(f.puller.copy(a) == nullptr); // not described yet
  auto bytes = fixture::source_bytes(10 * kib + 1, 3);
  object_puller::completed done;
  // Pieces of 4 KiB, 2 in flight, instead of the puller's 1 KiB chunks.
  auto first = f.puller.on_meta(a, fixture::meta(bytes.size()), &done, 4 * kib, 2);
  REQUIRE(first.size() == 2);
  CHECK(first[1].start == 4 * kib);
  CHECK(first[1].length == 4 * kib);
  auto* copy = f.puller.copy(a);
  REQUIRE(copy != nullptr);
  REQUIRE(copy->size == bytes.size());
  auto write = [&](const object_puller::chunk& c) {
    std::copy_n(bytes.data() + c.start, c.length, reinterpret_cast<char*>(copy->data) + c.start);
  };
  write(first[1]); // pieces may complete out of order
  auto next = f.puller.on_written(first[1], &done);
  REQUIRE(next.size() == 1);
  CHECK(next[0].start == 8 * kib);
  CHECK(next[0].length == 2 * kib + 1);
  write(first[0]);
  CHECK(f.puller.on_written(first[0], &done).empty());
  CHECK_FALSE(done.done);
  write(next[0]);
  f.puller.on_written(next[0], &done);
  REQUIRE(done.done);
  CHECK(f.holds(done.offset, bytes));
  CHECK(f.puller.copy(a) == nullptr); // no transfer any more
}

TEST_CASE("pieces of a failed or restarted transfer are no longer current") {
  fixture f;
  bool start = false;
  f.puller.want({a, 3, 64}, 1, &start);
  object_puller::completed done;
  auto first = f.puller.on_meta(a, fixture::meta(8 * kib), &done, 4 * kib, 2);
  REQUIRE(first.size() == 2);
  CHECK(f.puller.current(first[0]));
  REQUIRE(f.puller.restart(a, {a, 4, 128}));
  CHECK_FALSE(f.puller.current(first[0])); // from the first source
  CHECK(f.puller.on_written(first[0], &done).empty());
  auto again = f.puller.on_meta(a, fixture::meta(8 * kib), &done, 4 * kib, 2);
  REQUIRE(again.size() == 2);
  CHECK(f.puller.current(again[1]));
  f.puller.fail(a);
  CHECK_FALSE(f.puller.current(again[1]));
  CHECK(f.store.stats().live_objects == 0); // both partial copies are freed
}
