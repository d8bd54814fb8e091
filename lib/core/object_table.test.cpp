// Unit tests of the object table: ownership, handle counts, waiting.
#include "lib/core/object_table.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "troupe/errors.hpp"

std::uint64_t troupe_test_seed();

namespace {

using namespace std::chrono_literals;
using troupe::error_info;
using troupe::error_kind;
using troupe::object_id;
using troupe::detail::after;
using troupe::detail::object_table;
using troupe::detail::raw_value;
using troupe::detail::ref_ptr;
using troupe::detail::stored_value;
using status = object_table::status;

constexpr std::uint64_t me = 0xa1a1a1a1;
constexpr std::uint64_t other = 0xb2b2b2b2;

stored_value inline_value(const std::string& bytes) {
  stored_value v;
  v.type_hash = 42;
  v.type_name = "demo::blob";
  v.inline_data = std::make_shared<const std::vector<char>>(bytes.begin(), bytes.end());
  return v;
}

stored_value in_store_value(std::uint64_t offset, std::uint64_t size) {
  stored_value v;
  v.enc = troupe::encoding::raw_array;
  v.type_hash = 43;
  v.type_name = "std::vector<double>";
  v.in_store = true;
  v.offset = offset;
  v.size = size;
  return v;
}

std::string as_string(const raw_value& r) {
  auto* p = reinterpret_cast<const char*>(r.data);
  return {p, p + r.size};
}

/// An object table whose store is a heap buffer; records unpins and pins.
struct fixture {
  std::mutex mtx;
  std::vector<std::uint64_t> unpinned;
  std::vector<char> store = std::vector<char>(1 << 16);
  std::atomic<int> pins{0};
  std::atomic<int> views{0};
  object_table t{me,
                 [this](std::uint64_t off, std::uint64_t) {
                   std::lock_guard guard{mtx};
                   unpinned.push_back(off);
                 },
                 [this](const stored_value& v) {
                   ++views;
                   ++pins;
                   raw_value r;
                   r.enc = v.enc;
                   r.type_hash = v.type_hash;
                   r.type_name = "std::vector<double>";
                   r.data = reinterpret_cast<const std::byte*>(store.data() + v.offset);
                   r.size = v.size;
                   auto* self = this;
                   r.keepalive = std::shared_ptr<const void>(
                       r.data, [self](const void*) { --self->pins; });
                   return r;
                 }};

  fixture() {
    for (std::size_t i = 0; i < store.size(); ++i)
      store[i] = static_cast<char>('a' + i % 26);
  }

  std::vector<std::uint64_t> unpins() {
    std::lock_guard guard{mtx};
    return unpinned;
  }
};

} // namespace

TEST_CASE("a new owned object is pending until its result arrives") {
  fixture f;
  object_id id{me, 1};
  auto h = f.t.create_owned(id, "square");
  REQUIRE(h);
  CHECK(h->id() == id);
  std::string name;
  CHECK(f.t.peek(id, nullptr, nullptr, &name) == status::pending);
  CHECK(name == "square");
  CHECK(f.t.size() == 1);

  CHECK(f.t.fulfill(id, inline_value("result bytes")));
  stored_value v;
  CHECK(f.t.peek(id, &v) == status::ready);
  CHECK(v.type_hash == 42);
  auto r = f.t.wait_value(id, std::nullopt, {});
  CHECK(as_string(r) == "result bytes");
  CHECK(r.type_hash == 42);
  CHECK(r.type_name == "demo::blob");
  CHECK(r.enc == troupe::encoding::caf_binary);
  CHECK(f.unpins().empty());
}

TEST_CASE("a put object is ready at once and erased with its last handle") {
  fixture f;
  object_id id{me, 2};
  auto h = f.t.create_ready(id, inline_value("put"));
  CHECK(f.t.peek(id) == status::ready);
  CHECK(as_string(f.t.wait_value(id, std::nullopt, {})) == "put");
  h.reset();
  CHECK_FALSE(f.t.contains(id));
  CHECK(f.t.size() == 0);
  CHECK(f.unpins().empty()); // inline values have no pin
}

TEST_CASE(
    "a failed task's object rethrows task_error with the task's name, type and message") {
  fixture f;
  object_id id{me, 3};
  auto h = f.t.create_owned(id, "consumer");
  CHECK(f.t.fail(id, {error_kind::task_failed, "producer", "std::out_of_range",
                      "index 7 is out of range"}));
  CHECK(f.t.peek(id) == status::failed);
  try {
    f.t.wait_value(id, std::nullopt, {});
    FAIL("wait_value on a failed object returned");
  } catch (const troupe::task_error& e) {
    CHECK(e.kind() == error_kind::task_failed);
    CHECK(e.task_name() == "producer");
    CHECK(e.exception_type() == "std::out_of_range");
    CHECK(e.message() == "index 7 is out of range");
    std::string what = e.what();
    CHECK(what.find("producer") != std::string::npos);
    CHECK(what.find("index 7") != std::string::npos);
  }
  // It throws every time, not only once.
  CHECK_THROWS_AS(f.t.wait_value(id, std::nullopt, {}), troupe::task_error);
}

TEST_CASE("each error kind is rethrown as its own exception type") {
  fixture f;
  std::uint64_t seq = 10;
  auto failed_with = [&](error_info e) {
    object_id id{me, ++seq};
    auto h = f.t.create_owned(id, "t");
    REQUIRE(f.t.fail(id, std::move(e)));
    f.t.wait_value(id, std::nullopt, {});
  };
  try {
    failed_with(
        {error_kind::worker_crashed, "crashy", "", "killed by signal 9 (SIGKILL)"});
    FAIL("no throw");
  } catch (const troupe::worker_crashed_error& e) {
    CHECK(e.task_name() == "crashy");
    CHECK(e.reason() == "killed by signal 9 (SIGKILL)");
  }
  try {
    failed_with({error_kind::unschedulable, "gpu_task", "", "needs {GPU: 1}"});
    FAIL("no throw");
  } catch (const troupe::unschedulable_error& e) {
    std::string what = e.what();
    CHECK(what.find("gpu_task") != std::string::npos);
    CHECK(what.find("needs {GPU: 1}") != std::string::npos);
  }
  CHECK_THROWS_AS(failed_with({error_kind::object_store_full, "", "", "full"}),
                  troupe::object_store_full);
  CHECK_THROWS_AS(failed_with({error_kind::argument_type, "", "", "bad"}),
                  troupe::argument_type_error);
  CHECK_THROWS_AS(failed_with({error_kind::unknown_function, "", "", "who"}),
                  troupe::unknown_function_error);
  try {
    failed_with({error_kind::owner_died, "", "", "the owner is gone"});
    FAIL("no throw");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == error_kind::owner_died);
    CHECK(std::string{e.what()} == "the owner is gone");
  }
}

TEST_CASE(
    "releasing the last handle of a ready in-store value erases it and unpins it once") {
  fixture f;
  object_id id{me, 20};
  auto h = f.t.create_owned(id, "big");
  CHECK(f.t.fulfill(id, in_store_value(4096, 64)));
  auto copy = h; // copies of a ref share one handle
  h.reset();
  CHECK(f.t.contains(id));
  CHECK(f.unpins().empty());
  copy.reset();
  CHECK_FALSE(f.t.contains(id));
  CHECK(f.unpins() == std::vector<std::uint64_t>{4096});
}

TEST_CASE("an object held through several handles is erased only with the last one") {
  fixture f;
  object_id id{me, 21};
  auto h1 = f.t.create_owned(id, "big");
  auto h2 = f.t.from_wire(id, caf::actor{}); // came back from another process
  auto h3 = f.t.from_wire(id, caf::actor{});
  CHECK(f.t.peek(id) == status::pending);
  CHECK(f.t.fulfill(id, in_store_value(8192, 16)));
  h1.reset();
  h3.reset();
  CHECK(f.t.contains(id));
  CHECK(f.unpins().empty());
  h2.reset();
  CHECK_FALSE(f.t.contains(id));
  CHECK(f.unpins() == std::vector<std::uint64_t>{8192});
}

TEST_CASE("reading an in-store value pins it through the view until the reader lets go") {
  fixture f;
  object_id id{me, 22};
  auto h = f.t.create_owned(id, "big");
  CHECK(f.t.fulfill(id, in_store_value(100, 10)));
  {
    auto r = f.t.wait_value(id, std::nullopt, {});
    CHECK(f.views == 1);
    CHECK(f.pins == 1);
    CHECK(as_string(r) == std::string(f.store.data() + 100, 10));
    CHECK(r.enc == troupe::encoding::raw_array);
    CHECK(r.type_hash == 43);
  }
  CHECK(f.pins == 0);
  h.reset();
  CHECK(f.unpins() == std::vector<std::uint64_t>{100});
}

TEST_CASE("an inline value read by wait_value stays valid after its entry is erased") {
  fixture f;
  object_id id{me, 23};
  auto h = f.t.create_owned(id, "t");
  CHECK(f.t.fulfill(id, inline_value("kept alive by the view")));
  auto r = f.t.wait_value(id, std::nullopt, {});
  h.reset();
  REQUIRE_FALSE(f.t.contains(id));
  CHECK(as_string(r) == "kept alive by the view");
  CHECK(r.type_name == "demo::blob");
}

TEST_CASE("a pending owned object without handles is kept until its result arrives, then "
          "erased") {
  fixture f;
  object_id id{me, 30};
  auto h = f.t.create_owned(id, "t");
  h.reset();
  CHECK(f.t.contains(id));
  CHECK(f.t.peek(id) == status::pending);
  f.t.fulfill(id, in_store_value(512, 8));
  CHECK_FALSE(f.t.contains(id));
  // The value went nowhere: its pin is released at once, exactly once.
  CHECK(f.unpins() == std::vector<std::uint64_t>{512});

  object_id id2{me, 31};
  f.t.create_owned(id2, "t").reset();
  CHECK(f.t.contains(id2));
  CHECK(f.t.fail(id2, {error_kind::task_failed, "t", "E", "m"}));
  CHECK_FALSE(f.t.contains(id2));
  CHECK(f.unpins().size() == 1);
}

TEST_CASE("fulfill's return value tells whether the object was waiting for it") {
  // object_table.hpp documents "returns false if it is unknown"; the
  // implementation returns `unpins.empty()` instead.
  fixture f;
  SUBCASE("an unknown object with an inline value is not fulfilled") {
    CHECK_FALSE(f.t.fulfill({me, 999}, inline_value("nobody wants this")));
    CHECK_FALSE(f.t.contains({me, 999}));
  }
  SUBCASE("a pending object whose in-store value is unpinned at once was fulfilled") {
    object_id id{me, 32};
    f.t.create_owned(id, "t").reset();
    CHECK(f.t.fulfill(id, in_store_value(64, 8)));
  }
  SUBCASE("an object that is already ready is not fulfilled a second time") {
    object_id id{me, 33};
    auto h = f.t.create_owned(id, "t");
    REQUIRE(f.t.fulfill(id, inline_value("first")));
    CHECK_FALSE(f.t.fulfill(id, inline_value("second")));
  }
}

TEST_CASE("a result for an object that is not pending is ignored and its pin released") {
  fixture f;
  object_id id{me, 34};
  auto h = f.t.create_owned(id, "t");
  REQUIRE(f.t.fulfill(id, inline_value("first")));
  f.t.fulfill(id, inline_value("second"));
  CHECK(as_string(f.t.wait_value(id, std::nullopt, {})) == "first");
  f.t.fulfill(id, in_store_value(1024, 8));
  f.t.fulfill({me, 12345}, in_store_value(2048, 8));
  CHECK(f.unpins() == std::vector<std::uint64_t>{1024, 2048});
  CHECK(f.t.size() == 1);
  CHECK_FALSE(f.t.fail(id, {error_kind::task_failed, "t", "E", "late"}));
  CHECK(f.t.peek(id) == status::ready);
  CHECK_FALSE(f.t.fail({me, 777}, {}));
  CHECK_FALSE(f.t.contains({me, 777}));
}

TEST_CASE("an escaped object is never erased, not even without handles") {
  fixture f;
  object_id id{me, 40};
  auto h = f.t.create_owned(id, "t");
  f.t.mark_escaped(id);
  h.reset();
  CHECK(f.t.contains(id));
  CHECK(f.t.fulfill(id, in_store_value(256, 8)));
  CHECK(f.t.contains(id));
  auto again = f.t.from_wire(id, caf::actor{});
  CHECK(as_string(f.t.wait_value(id, std::nullopt, {})) ==
        std::string(f.store.data() + 256, 8));
  again.reset();
  CHECK(f.t.contains(id));
  CHECK(f.unpins().empty());

  object_id put_id{me, 41};
  auto p = f.t.create_ready(put_id, in_store_value(300, 8));
  f.t.mark_escaped(put_id);
  p.reset();
  CHECK(f.t.contains(put_id));
  CHECK(f.unpins().empty());
}

TEST_CASE("marking a borrowed object escaped does not keep it") {
  fixture f;
  object_id id{other, 42};
  auto h = f.t.from_wire(id, caf::actor{});
  f.t.mark_escaped(id); // only the owner keeps escaped objects
  h.reset();
  CHECK_FALSE(f.t.contains(id));
}

TEST_CASE("from_wire on an unknown id of our own gives a failed object_lost entry") {
  fixture f;
  object_id id{me, 50};
  auto h = f.t.from_wire(id, caf::actor{});
  REQUIRE(h);
  troupe::error_info e;
  CHECK(f.t.peek(id, nullptr, &e) == status::failed);
  CHECK(e.kind == error_kind::object_lost);
  try {
    f.t.wait_value(id, std::nullopt, {});
    FAIL("a freed object returned a value");
  } catch (const troupe::error& err) {
    CHECK(err.kind() == error_kind::object_lost);
    CHECK(std::string{err.what()}.find(id.to_string()) != std::string::npos);
  }
  // No fetch for our own objects.
  caf::actor owner;
  CHECK_FALSE(f.t.claim_fetch(id, &owner));
  h.reset();
  CHECK_FALSE(f.t.contains(id));
}

TEST_CASE("a borrowed object is pending, fetched once, and erased with its last handle") {
  fixture f;
  object_id id{other, 51};
  auto h1 = f.t.from_wire(id, caf::actor{});
  auto h2 = f.t.from_wire(id, caf::actor{});
  CHECK(f.t.peek(id) == status::pending);
  caf::actor owner;
  CHECK(f.t.claim_fetch(id, &owner));
  CHECK_FALSE(f.t.claim_fetch(id, &owner));
  h1.reset();
  CHECK(f.t.contains(id));
  h2.reset();
  CHECK_FALSE(f.t.contains(id)); // borrowed: not kept while pending
  CHECK(f.t.size() == 0);
}

TEST_CASE("fail_borrowed_from fails only pending borrowed objects of that owner") {
  fixture f;
  object_id borrowed{other, 52}, owned{me, 53}, ready{other, 54};
  auto hb = f.t.from_wire(borrowed, caf::actor{});
  auto ho = f.t.create_owned(owned, "mine");
  auto hr = f.t.from_wire(ready, caf::actor{});
  REQUIRE(f.t.fulfill(ready, inline_value("here")));
  auto failed = f.t.fail_borrowed_from(caf::actor_addr{},
                                       {error_kind::owner_died, "", "", "owner gone"});
  CHECK(failed == std::vector<object_id>{borrowed});
  CHECK(f.t.peek(borrowed) == status::failed);
  CHECK(f.t.peek(owned) == status::pending);
  CHECK(f.t.peek(ready) == status::ready);
  try {
    f.t.wait_value(borrowed, std::nullopt, {});
    FAIL("no throw");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == error_kind::owner_died);
  }
}

TEST_CASE("wait_value on an unknown object throws object_lost") {
  fixture f;
  try {
    f.t.wait_value({me, 60}, std::nullopt, {});
    FAIL("no throw");
  } catch (const troupe::error& e) {
    CHECK(e.kind() == error_kind::object_lost);
  }
}

TEST_CASE("wait_value with a deadline throws timeout_error and the value can still be "
          "got later") {
  fixture f;
  object_id id{me, 61};
  auto h = f.t.create_owned(id, "slow_task");
  int blocks = 0;
  auto until = after(20ms);
  try {
    f.t.wait_value(id, until, [&] { ++blocks; });
    FAIL("wait_value on a pending object returned");
  } catch (const troupe::timeout_error& e) {
    CHECK(e.kind() == error_kind::timeout);
    CHECK(std::string{e.what()}.find("slow_task") != std::string::npos);
    CHECK(std::string{e.what()}.find(id.to_string()) != std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() >= *until);
  CHECK(blocks == 1);
  CHECK(f.t.peek(id) == status::pending);
  // A deadline in the past times out at once, too.
  auto past = troupe::detail::deadline::at(std::chrono::steady_clock::now() - 1s);
  CHECK_THROWS_AS(f.t.wait_value(id, past, {}), troupe::timeout_error);
  REQUIRE(f.t.fulfill(id, inline_value("late but fine")));
  CHECK(as_string(f.t.wait_value(id, std::nullopt, {})) == "late but fine");
  // A ready object is returned even with a deadline that has passed, and
  // without calling on_block.
  CHECK(as_string(f.t.wait_value(id, past, [&] { ++blocks; })) == "late but fine");
  CHECK(blocks == 1);
}

TEST_CASE("wait_many counts failed objects as ready and respects num") {
  fixture f;
  std::vector<object_id> ids{{me, 70}, {me, 71}, {me, 72}};
  std::vector<ref_ptr> hs;
  for (auto& id : ids)
    hs.push_back(f.t.create_owned(id, "t"));
  REQUIRE(f.t.fulfill(ids[0], inline_value("ok")));
  REQUIRE(f.t.fail(ids[2], {error_kind::task_failed, "t", "E", "m"}));
  std::vector<bool> ready;
  int blocks = 0;
  f.t.wait_many(ids, 2, std::nullopt, ready, [&] { ++blocks; });
  CHECK(ready == std::vector<bool>{true, false, true});
  CHECK(blocks == 0); // enough were ready: no blocking

  f.t.wait_many(ids, 1, std::nullopt, ready, {});
  CHECK(ready == std::vector<bool>{true, false, true});
  f.t.wait_many(ids, 0, std::nullopt, ready, {});
  CHECK(ready.size() == 3);
}

TEST_CASE("wait_many returns at its deadline with what is ready then") {
  fixture f;
  std::vector<object_id> ids{{me, 80}, {me, 81}, {me, 82}};
  std::vector<ref_ptr> hs;
  for (auto& id : ids)
    hs.push_back(f.t.create_owned(id, "t"));
  REQUIRE(f.t.fulfill(ids[1], inline_value("one")));
  std::vector<bool> ready;
  int blocks = 0;
  auto until = after(30ms);
  f.t.wait_many(ids, 2, until, ready, [&] { ++blocks; });
  CHECK(std::chrono::steady_clock::now() >= *until);
  CHECK(ready == std::vector<bool>{false, true, false});
  CHECK(blocks == 1);
  // More than there are is clamped to all of them.
  REQUIRE(f.t.fulfill(ids[0], inline_value("zero")));
  REQUIRE(f.t.fulfill(ids[2], inline_value("two")));
  f.t.wait_many(ids, 10, after(10s), ready, {});
  CHECK(ready == std::vector<bool>{true, true, true});
}

TEST_CASE("a thread waiting in wait_value is woken by fulfill from another thread") {
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    fixture f;
    object_id id{me, 100 + static_cast<std::uint64_t>(threads)};
    auto h = f.t.create_owned(id, "slow");
    std::atomic<int> blocked{0};
    std::vector<std::string> got(threads), errors(threads);
    std::vector<std::thread> waiters;
    for (int i = 0; i < threads; ++i)
      waiters.emplace_back([&, i] {
        try {
          // A long deadline only so that a lost wake-up fails instead of hanging.
          got[i] = as_string(f.t.wait_value(id, after(20s), [&] { ++blocked; }));
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    while (blocked.load() < threads)
      std::this_thread::yield();
    std::this_thread::sleep_for(5ms); // let them reach the condition variable
    CHECK(f.t.fulfill(id, inline_value("woken")));
    for (auto& w : waiters)
      w.join();
    for (int i = 0; i < threads; ++i) {
      CHECK(errors[i] == "");
      CHECK(got[i] == "woken");
    }
  }
}

TEST_CASE("results inside a wakeup_batch wake a blocked getter once, when the last batch ends") {
  fixture f;
  std::vector<object_id> ids;
  std::vector<ref_ptr> handles;
  for (std::uint64_t i = 0; i < 10; ++i) {
    ids.push_back(object_id{me, 300 + i});
    handles.push_back(f.t.create_owned(ids.back(), "batched"));
  }
  std::atomic<int> blocked{0};
  std::string got, failure;
  std::thread getter{[&] {
    try {
      got = as_string(f.t.wait_value(ids.back(), after(20s), [&] { ++blocked; }));
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }};
  while (blocked.load() == 0)
    std::this_thread::yield();
  auto before = f.t.wakeups();
  {
    object_table::wakeup_batch outer{f.t};
    {
      object_table::wakeup_batch inner{f.t};
      for (auto& id : ids)
        CHECK(f.t.fulfill(id, inline_value("v" + std::to_string(id.seq))));
    }
    CHECK(f.t.wakeups() == before); // held back while any batch lives
  }
  CHECK(f.t.wakeups() == before + 1);
  getter.join(); // a wake-up lost by the batch would end at the deadline
  CHECK(failure == "");
  CHECK(got == "v309");
  // Without a batch each result wakes the getters; a batch with nothing
  // ready wakes nobody.
  object_id late{me, 400};
  auto h = f.t.create_owned(late, "late");
  { object_table::wakeup_batch empty{f.t}; }
  CHECK(f.t.wakeups() == before + 1);
  CHECK(f.t.fulfill(late, inline_value("late")));
  CHECK(f.t.wakeups() == before + 2);
}

TEST_CASE("a thread waiting in wait_value is woken by fail from another thread") {
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    fixture f;
    object_id id{me, 110 + static_cast<std::uint64_t>(threads)};
    auto h = f.t.create_owned(id, "doomed");
    std::atomic<int> blocked{0}, task_errors{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i < threads; ++i)
      waiters.emplace_back([&] {
        try {
          f.t.wait_value(id, after(20s), [&] { ++blocked; });
        } catch (const troupe::task_error& e) {
          if (e.task_name() == "root_cause")
            ++task_errors;
        } catch (...) {
        }
      });
    while (blocked.load() < threads)
      std::this_thread::yield();
    std::this_thread::sleep_for(5ms);
    CHECK(f.t.fail(id, {error_kind::task_failed, "root_cause", "E", "m"}));
    for (auto& w : waiters)
      w.join();
    CHECK(task_errors == threads);
  }
}

TEST_CASE(
    "threads in wait_many see objects completed in random order by another thread") {
  auto seed = troupe_test_seed();
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    CAPTURE(seed);
    fixture f;
    std::mt19937_64 rng{seed + threads};
    constexpr std::uint64_t n = 50;
    std::vector<object_id> ids;
    std::vector<ref_ptr> hs;
    for (std::uint64_t i = 0; i < n; ++i) {
      ids.push_back({me, 1000 + i});
      hs.push_back(f.t.create_owned(ids.back(), "t"));
    }
    std::atomic<int> all_ready{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i < threads; ++i)
      waiters.emplace_back([&, i] {
        // Each waiter waits for a growing number of objects, then for all.
        std::vector<bool> ready;
        for (std::size_t k = 1 + i; k <= n; k += 7)
          f.t.wait_many(ids, k, after(20s), ready, {});
        f.t.wait_many(ids, n, after(20s), ready, {});
        if (std::all_of(ready.begin(), ready.end(), [](bool b) { return b; }))
          ++all_ready;
      });
    auto order = ids;
    std::shuffle(order.begin(), order.end(), rng);
    for (auto& id : order) {
      if (rng() % 4 == 0)
        f.t.fail(id, {error_kind::task_failed, "t", "E", "m"});
      else
        f.t.fulfill(id, inline_value("v"));
      if (rng() % 8 == 0)
        std::this_thread::yield();
    }
    for (auto& w : waiters)
      w.join();
    CHECK(all_ready == threads);
  }
}

TEST_CASE("handles released concurrently unpin an in-store value exactly once") {
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    fixture f;
    object_id id{me, 2000};
    auto first = f.t.create_owned(id, "big");
    REQUIRE(f.t.fulfill(id, in_store_value(4000, 8)));
    constexpr int per_thread = 500;
    std::vector<std::vector<ref_ptr>> handles(threads);
    for (auto& hs : handles)
      for (int i = 0; i < per_thread; ++i)
        hs.push_back(f.t.from_wire(id, caf::actor{}));
    first.reset();
    std::vector<std::thread> workers;
    for (int i = 0; i < threads; ++i)
      workers.emplace_back([&, i] {
        // Readers race with the releases.
        for (auto& h : handles[i]) {
          (void)f.t.wait_value(id, std::nullopt, {});
          h.reset();
        }
      });
    for (auto& w : workers)
      w.join();
    CHECK_FALSE(f.t.contains(id));
    CHECK(f.unpins() == std::vector<std::uint64_t>{4000});
    CHECK(f.pins == 0);
  }
}

TEST_CASE("object_rows describes each object: state, size and the node of its store copy") {
  fixture f;
  auto pending = f.t.create_owned({me, 1}, "square");
  auto small = f.t.create_ready({me, 2}, inline_value("12345"));
  auto v = in_store_value(0, 800);
  v.node = 3;
  auto big = f.t.create_ready({me, 3}, v);
  auto rows = f.t.object_rows(10);
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.id < b.id; });
  CHECK(rows == std::vector<troupe::object_row>{
                    {object_id{me, 1}.to_string(), true, "pending", 0, 0},
                    {object_id{me, 2}.to_string(), true, "ready", 5, 0},
                    {object_id{me, 3}.to_string(), true, "ready", 800, 3}});
  CHECK(f.t.object_rows(2).size() == 2);
}

TEST_CASE("a deadline reads the clock when first asked, and fix() makes copies share it") {
  using clock = std::chrono::steady_clock;
  auto made = clock::now();
  auto lazy = after(10ms);
  CHECK(static_cast<bool>(lazy));
  CHECK_FALSE(static_cast<bool>(troupe::detail::deadline{std::nullopt}));
  // Poll past the timeout (no sleep): a deadline fixed at its making would
  // now lie in the past.
  while (clock::now() < made + 30ms) {
  }
  auto asked = clock::now();
  CHECK(*lazy >= asked + 10ms);
  CHECK(*lazy == *lazy); // fixed once
  auto shared = after(1s).fix();
  auto copy = shared;
  CHECK(*copy == *shared);
}

TEST_CASE("read_ready reads a run of ready inline values and stops at the first it cannot") {
  fixture f;
  std::vector<ref_ptr> refs;
  for (std::uint64_t i = 0; i < 6; ++i)
    refs.push_back(f.t.create_owned(object_id{me, 500 + i}, "run"));
  for (std::uint64_t i = 0; i < 3; ++i)
    CHECK(f.t.fulfill(object_id{me, 500 + i}, inline_value("r" + std::to_string(i))));
  CHECK(f.t.fulfill(object_id{me, 504}, inline_value("r4")));
  std::vector<raw_value> out;
  CHECK(f.t.read_ready(refs, 0, out) == 3); // 503 is pending
  REQUIRE(out.size() == 3);
  CHECK(as_string(out[0]) == "r0");
  CHECK(as_string(out[2]) == "r2");
  CHECK(out[1].type_name == "demo::blob");
  CHECK(f.t.read_ready(refs, 3, out) == 0);
  CHECK(f.t.fulfill(object_id{me, 503}, in_store_value(64, 8)));
  CHECK(f.t.read_ready(refs, 3, out) == 0); // in the store: left to get, which views it
  CHECK(f.views.load() == 0);
  CHECK(f.t.read_ready(refs, 4, out) == 1); // 505 is pending
  CHECK(as_string(out.back()) == "r4");
  refs[0].reset(); // an empty ref ends a run too (get says what is wrong)
  CHECK(f.t.read_ready(refs, 0, out) == 0);
}
