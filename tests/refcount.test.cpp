// Distributed reference counting end to end: refs inside values reach
// tasks, actors and results; each object is freed, with its store space and
// its owner's table entry, once no process holds a ref to it; and an actor
// ends when the last handle to it anywhere is gone.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "lib/core/client.hpp"
#include "tests/cluster_fixture.hpp"
#include "tests/rendezvous.hpp"

using namespace std::chrono_literals;
using troupe::test::eventually;
using troupe::test::local_cluster;

namespace {

using blob = std::vector<char>;

/// Refs inside a value: what crosses processes here.
struct box {
  std::vector<troupe::object_ref<blob>> refs;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, box& b) {
  return f(caf::meta::type_name("test.box"), b.refs);
}

/// Reads every ref of the box: the task borrows them while it runs.
std::size_t total_size(box b) {
  std::size_t n = 0;
  for (auto& r : b.refs)
    n += troupe::get(r, std::chrono::seconds(30)).size();
  return n;
}
TROUPE_REMOTE(total_size);

/// Keeps the refs of the last box it was given (a borrower across calls).
class keeper {
public:
  box swap(box b) {
    std::swap(kept_, b);
    return b;
  }
  std::size_t held_bytes() const { return total_size(kept_); }
  int drop() {
    kept_ = {};
    return 0;
  }
  /// Returns refs to objects this actor owns.
  box make(int n, int bytes) {
    box b;
    for (int i = 0; i < n; ++i)
      b.refs.push_back(troupe::put(blob(static_cast<std::size_t>(bytes), 'k'),
                                   {.in_store = true}));
    return b;
  }

private:
  box kept_;
};

std::unique_ptr<keeper> make_keeper() {
  return std::make_unique<keeper>();
}
TROUPE_REMOTE(make_keeper);
TROUPE_REMOTE(&keeper::swap);
TROUPE_REMOTE(&keeper::held_bytes);
TROUPE_REMOTE(&keeper::drop);
TROUPE_REMOTE(&keeper::make);

/// Holds a handle to a keeper: the keeper lives while it does.
class holder {
public:
  int keep(troupe::actor_handle<keeper> k) {
    kept_ = std::move(k);
    return 0;
  }
  std::size_t ask_kept() const {
    return troupe::get(kept_.task(&keeper::held_bytes).remote(), std::chrono::seconds(30));
  }
  int forget() {
    kept_ = {};
    return 0;
  }

private:
  troupe::actor_handle<keeper> kept_;
};

std::unique_ptr<holder> make_holder() {
  return std::make_unique<holder>();
}
TROUPE_REMOTE(make_holder);
TROUPE_REMOTE(&holder::keep);
TROUPE_REMOTE(&holder::ask_kept);
TROUPE_REMOTE(&holder::forget);

int one() {
  return 1;
}
TROUPE_REMOTE(one);

/// Yields `n` boxes, each with a ref to an object this worker puts and the
/// ref it was given.
troupe::generator<box> boxes(box given, int n) {
  for (int i = 0; i < n; ++i) {
    box b = given;
    b.refs.push_back(troupe::put(blob(1000, static_cast<char>('0' + i)), {.in_store = true}));
    co_yield b;
  }
}
TROUPE_REMOTE(boxes);

/// Waits until no entry of the driver's table is pending (an actor's
/// creation result may come after the answer of its first call) and returns
/// the table's size then.
std::size_t settled_entries() {
  auto& table = troupe::detail::client::get().table();
  auto none_pending = [&] {
    for (auto& row : table.object_rows(1'000'000))
      if (row.state == "pending")
        return false;
    return true;
  };
  REQUIRE_MESSAGE(troupe::test::eventually(none_pending, std::chrono::seconds(10)),
                  "the driver's table still has pending entries");
  return table.size();
}

/// What "back to the baseline" means: the driver's object table and the
/// node's store hold as many objects as before.
struct baseline {
  std::size_t entries = settled_entries();
  std::uint64_t stored = troupe::detail::client::get().store()->stats().live_objects;

  [[nodiscard]] bool reached() const {
    auto& c = troupe::detail::client::get();
    return c.table().size() == entries && c.store()->stats().live_objects == stored;
  }
  [[nodiscard]] std::string now() const {
    auto& c = troupe::detail::client::get();
    return "table " + std::to_string(c.table().size()) + " (baseline "
           + std::to_string(entries) + "), store objects "
           + std::to_string(c.store()->stats().live_objects) + " (baseline "
           + std::to_string(stored) + ")";
  }
};

/// Returns the number of ref passes to run (TROUPE_REFCOUNT_PASSES).
int passes() {
  auto* env = std::getenv("TROUPE_REFCOUNT_PASSES");
  return env ? std::atoi(env) : 100'000;
}

} // namespace

TEST_CASE("a ref passed inside a value to a task is freed once the task and the driver drop it") {
  local_cluster cluster;
  baseline before;
  {
    box b{{troupe::put(blob(1000, 'a'), {.in_store = true}),
           troupe::put(blob(10, 'b'))}};
    CHECK(troupe::get(troupe::task(total_size).remote(b), 30s) == 1010);
  }
  // Before reference counting, a ref serialized once was kept forever.
  CHECK_MESSAGE(eventually([&] { return before.reached(); }, 10s), before.now());
}

TEST_CASE("an actor that keeps a borrowed ref keeps its object alive until it lets go") {
  local_cluster cluster;
  auto k = troupe::actor(make_keeper).remote();
  troupe::get(k.task(&keeper::drop).remote(), 30s); // up, its creation settled
  baseline before;
  {
    auto x = troupe::put(blob(4096, 'x'), {.in_store = true});
    CHECK(troupe::get(k.task(&keeper::swap).remote(box{{x}}), 30s).refs.empty());
  }
  // The driver let go; the actor still reads it, again and again.
  for (int i = 0; i < 3; ++i)
    CHECK(troupe::get(k.task(&keeper::held_bytes).remote(), 30s) == 4096);
  CHECK_FALSE(before.reached());
  troupe::get(k.task(&keeper::drop).remote(), 30s);
  CHECK_MESSAGE(eventually([&] { return before.reached(); }, 10s), before.now());
}

TEST_CASE("refs to an actor's own objects come back nested in its results and are freed after") {
  local_cluster cluster;
  auto k = troupe::actor(make_keeper).remote();
  troupe::get(k.task(&keeper::drop).remote(), 30s); // the actor is up
  baseline before;
  {
    auto made = troupe::get(k.task(&keeper::make).remote(3, 2000), 30s);
    REQUIRE(made.refs.size() == 3);
    // The actor's refs went with its result; the objects outlive the call.
    CHECK(troupe::get(troupe::task(total_size).remote(made), 30s) == 6000);
    CHECK(total_size(made) == 6000);
  }
  CHECK_MESSAGE(eventually([&] { return before.reached(); }, 10s), before.now());
}

TEST_CASE("refs inside a generator's items outlive the generator and are freed after") {
  local_cluster cluster;
  baseline before;
  {
    auto x = troupe::put(blob(10, 'x'), {.in_store = true});
    auto stream = troupe::task(boxes).remote(box{{x}}, 3);
    std::vector<box> got;
    while (auto item = stream.next(30s))
      got.push_back(troupe::get(*item, 30s));
    REQUIRE(got.size() == 3);
    // The generator is over; its objects live on with the refs in its items.
    for (int i = 0; i < 3; ++i) {
      REQUIRE(got[i].refs.size() == 2);
      CHECK(troupe::get(got[i].refs[0], 30s) == blob(10, 'x'));
      CHECK(troupe::get(got[i].refs[1], 30s) == blob(1000, static_cast<char>('0' + i)));
    }
  }
  CHECK_MESSAGE(eventually([&] { return before.reached(); }, 10s), before.now());
}

TEST_CASE("a borrower that dies no longer holds what it borrowed") {
  local_cluster cluster;
  auto& table = troupe::detail::client::get().table();
  auto entries = table.size();
  auto k = troupe::actor(make_keeper).remote();
  troupe::object_id x_id;
  {
    auto x = troupe::put(blob(4096, 'x'));
    x_id = x.id();
    troupe::get(k.task(&keeper::swap).remote(box{{x}}), 30s);
  }
  CHECK(troupe::get(k.task(&keeper::held_bytes).remote(), 30s) == 4096);
  CHECK(table.contains(x_id)); // the actor borrows it
  CHECK(table.borrower_count(x_id) == 1);
  troupe::kill(k); // its worker is SIGKILLed: it never says it let go
  k = {};
  // The owner hears that the borrower is gone and frees the object. (Store
  // pins a killed process held are not given back: see the README.)
  CHECK(eventually([&] { return !table.contains(x_id); }, 15s));
  CHECK(eventually([&] { return table.size() == entries; }, 15s));
}

TEST_CASE("refs passed inside values 100,000 times between a driver and two actors leave "
          "nothing behind") {
  local_cluster cluster;
  auto a = troupe::actor(make_keeper).remote();
  auto b = troupe::actor(make_keeper).remote();
  troupe::get(a.task(&keeper::drop).remote(), 30s);
  troupe::get(b.task(&keeper::drop).remote(), 30s);
  baseline before;
  const int n = passes() / 2; // two passes a round: driver -> a -> b
  MESSAGE("ref passes: " << 2 * n);
  std::vector<std::pair<int, troupe::object_ref<box>>> window;
  auto check_window = [&] {
    for (auto& [round, ref] : window) {
      // b gives back what it kept: the box of two rounds before.
      auto got = troupe::get(ref, 60s);
      if (round < 2) {
        CHECK(got.refs.empty());
        continue;
      }
      REQUIRE(got.refs.size() == 1);
      if (round % 97 == 0)
        CHECK(troupe::get(got.refs[0], 30s) == blob(64, static_cast<char>((round - 2) % 128)));
    }
    window.clear();
  };
  for (int round = 0; round < n; ++round) {
    auto x = troupe::put(blob(64, static_cast<char>(round % 128)),
                         {.in_store = round % 8 == 0});
    auto from_a = a.task(&keeper::swap).remote(box{{x}});
    window.emplace_back(round, b.task(&keeper::swap).remote(from_a));
    if (window.size() == 512)
      check_window();
  }
  check_window();
  troupe::get(a.task(&keeper::drop).remote(), 30s);
  troupe::get(b.task(&keeper::drop).remote(), 30s);
  CHECK_MESSAGE(eventually([&] { return before.reached(); }, 20s), before.now());
  auto& own = troupe::detail::client::get().table();
  MESSAGE("driver table entries after: " << own.size());
}

TEST_CASE("an actor ends, and its CPUs return, when the last handle to it anywhere is gone") {
  local_cluster cluster; // 2 CPUs
  auto h = troupe::actor(make_holder).remote();
  troupe::get(h.task(&holder::forget).remote(), 30s);
  {
    auto k = troupe::actor(make_keeper, {.num_cpus = 2}).remote();
    {
      auto x = troupe::put(blob(100, 'x'));
      troupe::get(k.task(&keeper::swap).remote(box{{x}}), 30s);
    }
    troupe::get(h.task(&holder::keep).remote(k), 30s);
  }
  // The driver's handle is gone; the holder's keeps the keeper alive, so
  // its two CPUs stay taken.
  CHECK(troupe::get(h.task(&holder::ask_kept).remote(), 30s) == 100);
  auto waiting = troupe::task(one).remote();
  CHECK(troupe::wait(std::vector{waiting}, 1, 1s).ready.empty());
  // The last handle goes: the keeper ends and the task gets its CPU.
  troupe::get(h.task(&holder::forget).remote(), 30s);
  CHECK(troupe::get(waiting, 30s) == 1);
}

TEST_CASE("a detached actor outlives its handles") {
  local_cluster cluster;
  {
    auto k = troupe::actor(make_keeper, {.name = "kept", .detached = true}).remote();
    troupe::get(k.task(&keeper::drop).remote(), 30s);
  }
  auto again = troupe::get_actor<keeper>("kept");
  CHECK(troupe::get(again.task(&keeper::drop).remote(), 30s) == 0);
  troupe::kill(again);
}
