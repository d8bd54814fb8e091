// The store against processes that die: holds handed between processes,
// holds of dead processes dropped, and processes SIGKILLed at any instruction
// of allocating, sealing or freeing.

#include "store/object_store.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/test_processes.hpp"
#include "troupe/errors.hpp"

using namespace troupe::store;
using namespace troupe::store::test;
using troupe::encoding;
using troupe::object_id;

namespace {

constexpr std::size_t mib = 1024 * 1024;

writable make(object_store& s, std::uint64_t seq, std::size_t size) {
  // Job 3's: its share must come back to zero too.
  return s.create(object_id{7, seq}, size, 0x1234, "blob", encoding::caf_binary, 3);
}

std::uint64_t seed_from_env() {
  if (auto* s = std::getenv("TROUPE_SEED"))
    return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

int rounds_from_env(int fallback) {
  auto* s = std::getenv("TROUPE_STORE_CRASH_ROUNDS");
  return s ? std::atoi(s) : fallback;
}

/// What a dying child does for ever: creates objects of random sizes, fills
/// and seals them, pins, hands over and frees them, keeping up to 32. Writes
/// one byte to `ready` once its store exists. A handed-over object is never
/// adopted, so it stays until the child's death is reaped: at most 64 are
/// handed over. Uncapped, a child that churns longer than the round means to
/// (a busy machine wakes the parent late) fills the segment with them, and the
/// next process finds the store full, not locked.
[[noreturn]] void churn(const std::string& segment, int ready, std::uint64_t seed) {
  auto alloc = shm_allocator::open(segment);
  object_store s{*alloc};
  std::mt19937_64 rng{seed};
  std::vector<std::uint64_t> kept;
  int handed_over = 0;
  char one = 1;
  (void)!::write(ready, &one, 1);
  for (std::uint64_t seq = 1;; ++seq) {
    auto size = std::size_t{1} << (rng() % 17); // 1 B .. 64 KiB
    try {
      auto w = make(s, seq, size);
      std::memset(w.data, static_cast<int>(seq & 0xff), w.size);
      s.seal(w.offset);
      kept.push_back(w.offset);
    } catch (const troupe::object_store_full&) {
    }
    auto pick = [&] { return kept[rng() % kept.size()]; };
    try {
      auto r = rng() % 4;
      if (r == 0 && !kept.empty()) {
        auto o = pick();
        s.pin(o);
        s.unpin(o);
      } else if (r == 1 && !kept.empty() && handed_over < 64) {
        s.hand_over(pick()); // never adopted: the reaper drops it
        ++handed_over;
      }
    } catch (const std::logic_error&) {
      // handed over already: not ours any more
    }
    while (kept.size() > 32 || (!kept.empty() && rng() % 3 == 0)) {
      auto at = rng() % kept.size();
      try {
        s.unpin(kept[at]);
      } catch (const std::logic_error&) {
        // handed over already: not ours to unpin
      }
      kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(at));
    }
  }
}

/// In a fresh process (as every user of a node is): creates, fills, seals,
/// reads and frees an object of `size` bytes. 0 when all was right; killed
/// by SIGALRM when the store's lock blocks it.
int use_store(const std::string& segment, std::size_t size) {
  ::alarm(20);
  auto alloc = shm_allocator::open(segment);
  object_store s{*alloc};
  auto w = make(s, 1u << 30, size);
  for (std::size_t i = 0; i < size; ++i)
    w.data[i] = static_cast<std::byte>(i * 7);
  s.seal(w.offset);
  auto r = s.view(w.offset);
  for (std::size_t i = 0; i < size; ++i)
    if (r.data[i] != static_cast<std::byte>(i * 7))
      return 1;
  return s.unpin(w.offset) ? 0 : 2;
}

} // namespace

TEST_CASE("a pin handed over stays in transit until another process adopts it") {
  heap_allocator alloc{mib};
  object_store sender{alloc};
  object_store receiver{alloc};
  auto w = make(sender, 1, 1000);
  sender.seal(w.offset);
  sender.hand_over(w.offset);
  CHECK(sender.stats().live_objects == 1); // in transit: kept
  CHECK_THROWS_AS(sender.unpin(w.offset), std::logic_error); // not the sender's now
  CHECK_FALSE(receiver.adopt(w.offset, object_id{7, 2})); // another object's id
  REQUIRE(receiver.adopt(w.offset, object_id{7, 1}));
  CHECK_FALSE(receiver.adopt(w.offset, object_id{7, 1})); // adopted once only
  CHECK(receiver.view(w.offset).size == 1000);
  freed_object freed;
  CHECK(receiver.unpin(w.offset, &freed));
  CHECK(freed.id == object_id{7, 1});
  CHECK(freed.size == 1000);
  CHECK(freed.sealed);
  CHECK(receiver.stats().live_objects == 0);
  CHECK_FALSE(receiver.adopt(w.offset, object_id{7, 1})); // freed: nothing to adopt
}

TEST_CASE("a store that goes gives back what only it held, and its slot") {
  heap_allocator alloc{mib};
  object_store keeper{alloc};
  auto free_before = keeper.stats().free_bytes;
  std::uint64_t shared = 0;
  {
    object_store other{alloc};
    CHECK(keeper.stats().processes == 2);
    (void)make(other, 1, 5000); // only other holds it
    auto w = make(other, 2, 5000);
    shared = w.offset;
    keeper.pin(shared);
  }
  CHECK(keeper.stats().processes == 1);
  CHECK(keeper.stats().live_objects == 1); // the one keeper holds
  CHECK(keeper.unpin(shared));
  CHECK(keeper.stats().free_bytes == free_before);
}

TEST_CASE("the holds of a SIGKILLed process are dropped by reap_dead, and only "
          "what it alone held is freed") {
  segment_guard seg{"troupe_store_crash_test_"};
  auto alloc = shm_allocator::create(seg.name, 8 * mib);
  object_store store{*alloc};
  auto free_before = store.stats().free_bytes;
  auto mine = make(store, 100, 3000);
  store.seal(mine.offset);
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  auto child = spawn([&] {
    auto other = shm_allocator::open(seg.name);
    object_store s{*other};
    s.pin(mine.offset);                // shared with the parent
    (void)make(s, 1, 200 * 1024);      // created, never sealed
    s.seal(make(s, 2, 4000).offset);   // sealed
    s.hand_over(make(s, 3, 500).offset); // in transit, never adopted
    char one = 1;
    (void)!::write(ready[1], &one, 1);
    ::pause();
    return 0;
  });
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  CHECK(store.stats().live_objects == 4);
  CHECK(store.reap_dead() == 0); // alive: nothing to drop
  CHECK(store.pins(mine.offset) == 2);
  ::kill(child, SIGKILL);
  CHECK(wait_status(child) == 128 + SIGKILL);
  std::vector<freed_object> freed;
  auto collect = [&](const freed_object& f) { freed.push_back(f); };
  // As the store manager asks: a process is reaped the second time it is
  // found dead (an answer it sent just before is taken first).
  CHECK(store.reap_dead(collect, true) == 0);
  CHECK(store.pins(mine.offset) == 2);
  CHECK(store.reap_dead(collect, true) == 1);
  CHECK(freed.size() == 3);
  CHECK(store.stats().live_objects == 1);
  CHECK(store.stats().processes == 1);
  CHECK(store.pins(mine.offset) == 1);
  CHECK(store.unpin(mine.offset));
  CHECK(store.stats().free_bytes == free_before);
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_CASE("a process SIGKILLed at a random moment of allocating, sealing or freeing "
          "never leaves the store locked or its space lost") {
  auto seed = seed_from_env();
  auto rounds = rounds_from_env(200);
  MESSAGE("seed " << seed << " (TROUPE_SEED), " << rounds
                  << " rounds (TROUPE_STORE_CRASH_ROUNDS)");
  std::mt19937_64 rng{seed};
  segment_guard seg{"troupe_store_crash_test_"};
  auto alloc = shm_allocator::create(seg.name, 32 * mib);
  object_store store{*alloc};
  auto baseline = store.stats().free_bytes;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  for (int round = 0; round < rounds; ++round) {
    CAPTURE(round);
    auto child_seed = rng();
    auto child = spawn([&]() -> int { churn(seg.name, ready[1], child_seed); });
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    // The random moment: 0-20 ms into the churn.
    timespec pause{0, static_cast<long>(rng() % 20'000'000)};
    ::nanosleep(&pause, nullptr);
    ::kill(child, SIGKILL);
    REQUIRE(wait_status(child) == 128 + SIGKILL);
    // Another process gets the lock (taking it over if the child held it),
    // and its object is whole.
    auto size = std::size_t{1} << (10 + rng() % 11); // 1 KiB .. 1 MiB
    auto user = spawn([&] { return use_store(seg.name, size); });
    REQUIRE(wait_status(user) == 0);
    // Once the dead process's holds are dropped, every byte is free again.
    CHECK(store.reap_dead() == 1);
    auto s = store.stats();
    REQUIRE(s.live_objects == 0);
    REQUIRE(s.bytes_in_use == 0);
    REQUIRE(store.job_bytes(3) == 0);
    REQUIRE(s.free_bytes == baseline);
    REQUIRE(s.processes == 1);
  }
  MESSAGE("the lock was taken over from a dead holder " << store.stats().recoveries
                                                        << " time(s)");
  ::close(ready[0]);
  ::close(ready[1]);
}
