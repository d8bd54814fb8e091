// Unit tests of distributed reference counting: the object table's counts
// (borrowers, registrations, nested refs, actor lifetimes) and the
// borrowing protocol's ordering, driven without a network.
#include "lib/core/borrowing.hpp"

#include <string>
#include <tuple>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>

#include <doctest/doctest.h>

#include "lib/core/object_table.hpp"
#include "lib/protocol/handles.hpp"

namespace {

using troupe::object_id;
using troupe::detail::borrowing;
using troupe::detail::object_table;
using troupe::detail::ref_ptr;
using troupe::detail::stored_value;

constexpr std::uint64_t me = 0xa1a1a1a1;
constexpr std::uint64_t other = 0xb2b2b2b2;

caf::behavior idle(caf::event_based_actor*, int) {
  return {[](int) {}};
}

stored_value in_store(std::uint64_t offset) {
  stored_value v;
  v.type_hash = 42;
  v.in_store = true;
  v.offset = offset;
  v.size = 8;
  return v;
}

/// A table with hooks that record what it asks of the core actor, and
/// actors whose addresses stand for other processes.
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::actor self = sys.spawn(idle, 0);
  caf::actor peer1 = sys.spawn(idle, 1);
  caf::actor peer2 = sys.spawn(idle, 2);
  std::vector<std::uint64_t> unpinned;
  /// "borrow <id seq> <self|peer>" and "unborrow <id seq> <count>", in order.
  std::vector<std::string> events;
  std::vector<object_id> unreferenced;
  object_table t{me, [this](std::uint64_t off, std::uint64_t) { unpinned.push_back(off); },
                 [](const stored_value&) { return troupe::detail::raw_value{}; }};

  fixture() {
    t.set_self(self);
    t.set_borrow_hooks(
      [this](const object_id& id, const caf::actor_addr& who) {
        events.push_back("borrow " + std::to_string(id.seq) + (who ? " peer" : " self"));
      },
      [this](const object_id& id, const caf::actor&, std::uint32_t n) {
        events.push_back("unborrow " + std::to_string(id.seq) + " " + std::to_string(n));
      },
      [this](const object_id& id) { unreferenced.push_back(id); });
  }
  ~fixture() {
    for (auto* a : {&self, &peer1, &peer2})
      caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
  }
};

/// Records the messages of `borrowing`.
struct recorded_io : borrowing::io {
  std::vector<std::uint64_t> lookups;
  std::vector<object_id> registered;
  std::vector<std::pair<object_id, std::uint32_t>> unregistered;
  std::vector<caf::actor_addr> watched;
  void find_owner(std::uint64_t owner_id) override { lookups.push_back(owner_id); }
  void register_at(const troupe::core_actor&, const object_id& id,
                   const caf::actor_addr&) override {
    registered.push_back(id);
  }
  void unregister_at(const troupe::core_actor&, const object_id& id,
                     std::uint32_t count) override {
    unregistered.emplace_back(id, count);
  }
  void watch(const caf::actor_addr& who) override { watched.push_back(who); }
};

} // namespace

TEST_CASE("an owned object stays while another process borrows it") {
  fixture f;
  object_id id{me, 1};
  auto h = f.t.create_ready(id, in_store(64));
  REQUIRE(f.t.add_borrower(id, f.peer1.address(), 1));
  h.reset();
  CHECK(f.t.contains(id)); // no handle here, but borrowed
  CHECK(f.unpinned.empty());
  f.t.remove_borrower(id, f.peer1.address(), 1);
  CHECK_FALSE(f.t.contains(id));
  CHECK(f.unpinned == std::vector<std::uint64_t>{64});
  CHECK_FALSE(f.t.add_borrower(id, f.peer1.address(), 1)); // gone: refused
}

TEST_CASE("a borrower's registrations are counted, and dropped whole when it dies") {
  fixture f;
  object_id id{me, 1};
  f.t.create_ready(id, in_store(64)); // the handle goes at once
  CHECK_FALSE(f.t.contains(id));
  auto h = f.t.create_ready(id, in_store(64));
  f.t.add_borrower(id, f.peer1.address(), 2);
  f.t.add_borrower(id, f.peer2.address(), 1);
  h.reset();
  f.t.remove_borrower(id, f.peer1.address(), 1);
  CHECK(f.t.borrower_count(id) == 2);
  f.t.drop_borrower(f.peer1.address());
  CHECK(f.t.borrower_count(id) == 1);
  CHECK(f.t.contains(id));
  f.t.drop_borrower(f.peer2.address());
  CHECK_FALSE(f.t.contains(id));
}

TEST_CASE("a ref from elsewhere registers once per entry, and unregisters every count after") {
  fixture f;
  object_id x{other, 7};
  auto a = f.t.from_wire(x, nullptr);
  auto b = f.t.from_wire(x, nullptr);
  auto c = f.t.adopt(x); // a worker registered us for a result: one more count
  CHECK(f.events == std::vector<std::string>{"borrow 7 self"});
  CHECK(f.t.unacknowledged() == 1);
  a.reset();
  b.reset();
  CHECK(f.events.size() == 1);
  c.reset();
  CHECK(f.events == std::vector<std::string>{"borrow 7 self", "unborrow 7 2"});
  // Our own refs never register.
  auto mine = f.t.create_ready({me, 1}, in_store(0));
  auto again = f.t.from_wire({me, 1}, nullptr);
  CHECK(f.events.size() == 2);
}

TEST_CASE("an object holds the refs nested in its value until it is erased") {
  fixture f;
  object_id outer{me, 1}, inner{me, 2};
  auto in = f.t.create_ready(inner, in_store(8));
  auto out = f.t.create_ready(outer, in_store(16));
  f.t.hold_nested(outer, {in});
  in.reset();
  CHECK(f.t.contains(inner));
  out.reset();
  CHECK_FALSE(f.t.contains(outer));
  CHECK_FALSE(f.t.contains(inner)); // let go with its holder
  CHECK(f.unpinned == std::vector<std::uint64_t>{16, 8});
}

TEST_CASE("a result's nested refs are counted for the caller before the worker lets go") {
  fixture f;
  object_id id{me, 1};
  auto h = f.t.create_ready(id, in_store(8));
  f.t.lend(id, f.peer1.address()); // counted at once, not when the core gets to it
  CHECK(f.t.borrower_count(id) == 1);
  CHECK(f.events == std::vector<std::string>{"borrow 1 peer"}); // the core watches it
  h.reset();
  CHECK(f.t.contains(id));
  // Lent to ourselves (the caller is the owner): adopting takes the count back.
  auto h2 = f.t.from_wire(id, nullptr);
  f.t.lend(id, f.self.address());
  auto adopted = f.t.adopt(id);
  CHECK(f.t.borrower_count(id) == 1); // peer1 only
  h2.reset();
  adopted.reset();
  f.t.remove_borrower(id, f.peer1.address(), 1);
  CHECK_FALSE(f.t.contains(id));
}

TEST_CASE("an actor's lifetime object reports when no handle is left anywhere") {
  fixture f;
  object_id actor{me, 3};
  auto h = f.t.create_actor_lifetime(actor);
  f.t.add_borrower(actor, f.peer1.address(), 1);
  h.reset();
  CHECK(f.unreferenced.empty());
  f.t.remove_borrower(actor, f.peer1.address(), 1);
  CHECK(f.unreferenced == std::vector<object_id>{actor});
}

TEST_CASE("unregistrations wait until every registration before them is acknowledged") {
  fixture f;
  recorded_io io;
  borrowing b{f.t, io, f.self.address()};
  object_id x{other, 1}, y{other, 2};
  auto hx = f.t.from_wire(x, nullptr);
  auto hy = f.t.from_wire(y, nullptr);
  // The owner is unknown: one lookup for both, then both register.
  b.borrow(x, {});
  b.borrow(y, {});
  CHECK(io.lookups == std::vector<std::uint64_t>{other});
  auto owner = troupe::handle_cast<troupe::core_actor>(f.peer1);
  b.on_owner(other, owner);
  CHECK(io.registered == std::vector<object_id>{x, y});
  // x's registration is acknowledged, y's not yet: x's unregistration waits.
  b.on_answer();
  b.unborrow(x, {}, 1);
  CHECK(io.unregistered.empty());
  CHECK(b.held() == 1);
  b.on_answer();
  CHECK(io.unregistered == std::vector<std::pair<object_id, std::uint32_t>>{{x, 1}});
  CHECK(b.held() == 0);
}

TEST_CASE("a registration whose owner is gone counts as answered") {
  fixture f;
  recorded_io io;
  borrowing b{f.t, io, f.self.address()};
  object_id x{other, 1};
  auto hx = f.t.from_wire(x, nullptr);
  b.borrow(x, {});
  b.on_owner(other, {});
  CHECK(f.t.unacknowledged() == 0);
  CHECK(io.registered.empty());
  b.unborrow(x, {}, 1); // never registered with anyone: nothing to send
  CHECK(io.unregistered.empty());
}

TEST_CASE("the owner watches each borrower once and drops it when it is down") {
  fixture f;
  recorded_io io;
  borrowing b{f.t, io, f.self.address()};
  object_id id{me, 1};
  auto h = f.t.create_ready(id, in_store(8));
  CHECK(b.on_register(id, f.peer1.address(), 1));
  CHECK(b.on_register(id, f.peer1.address(), 1));
  CHECK(io.watched.size() == 1);
  CHECK_FALSE(b.on_register({me, 99}, f.peer1.address(), 1)); // not held here
  h.reset();
  b.on_down(f.peer1.address());
  CHECK_FALSE(f.t.contains(id));
}
