// Tasks, refs and the object store, end to end on a real local cluster.
#include <doctest/doctest.h>

#include <chrono>
#include <numeric>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "lib/core/client.hpp"
#include "tests/cluster_fixture.hpp"
#include "tests/rendezvous.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;
using troupe::test::overlap_gauge;
using troupe::test::temp_dir;

namespace {

int square(int x) { return x * x; }
TROUPE_REMOTE(square);

int add(int a, int b) { return a + b; }
TROUPE_REMOTE_AS("add", troupe::overload<int(int, int)>(add));

double add(double a, double b) { return a + b + 0.5; }
TROUPE_REMOTE_AS("add_doubles", troupe::overload<double(double, double)>(add));

int worker_pid() { return static_cast<int>(::getpid()); }
TROUPE_REMOTE(worker_pid);

std::vector<double> make_array(int n, double value) {
  return std::vector<double>(static_cast<std::size_t>(n), value);
}
TROUPE_REMOTE(make_array);

std::vector<double> add_arrays(troupe::shared_array<double> a,
                               troupe::shared_array<double> b) {
  std::vector<double> out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    out[i] = a[i] + b[i];
  return out;
}
TROUPE_REMOTE(add_arrays);

double sum_array(const std::vector<double>& xs) {
  return std::accumulate(xs.begin(), xs.end(), 0.0);
}
TROUPE_REMOTE(sum_array);

/// A task that submits tasks and waits for them, from inside a worker.
int sum_of_squares(int n) {
  std::vector<troupe::object_ref<int>> refs;
  for (int i = 1; i <= n; ++i)
    refs.push_back(troupe::task(square).remote(i));
  int total = 0;
  for (auto v : troupe::get(refs))
    total += v;
  return total;
}
TROUPE_REMOTE(sum_of_squares);

int slow_identity(int x, int millis) {
  std::this_thread::sleep_for(std::chrono::milliseconds(millis));
  return x;
}
TROUPE_REMOTE(slow_identity);

struct point {
  int x = 0;
  std::string label;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(caf::meta::type_name("point"), p.x, p.label);
}

point move_point(point p, int dx) {
  p.x += dx;
  p.label += "'";
  return p;
}
TROUPE_REMOTE(move_point);

/// A void task whose only effect is a file, written after a pause so that a
/// get returning before the task ended would miss it.
void write_pid_later(std::string path) {
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  troupe::test::write_file(path, std::to_string(::getpid()));
}
TROUPE_REMOTE(write_pid_later);

/// Enters the gauge in `dir`, waits (up to 10 s) until `want` tasks were
/// inside at once, stays `dwell_ms` longer (so that a task admitted beyond
/// the limit would be counted), and leaves. Returns the most it saw inside.
int meet(std::string dir, int want, int dwell_ms) {
  overlap_gauge gauge{dir};
  gauge.enter();
  troupe::test::eventually([&] { return gauge.most() >= want; }, std::chrono::seconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(dwell_ms));
  auto most = gauge.most();
  gauge.leave();
  return most;
}
TROUPE_REMOTE(meet);

} // namespace

TEST_CASE("a remote task returns its result through get") {
  local_cluster cluster;
  auto ref = troupe::task(square).remote(7);
  CHECK(ref.valid());
  CHECK(troupe::get(ref) == 49);
}

TEST_CASE("tasks run in worker processes, not in the driver") {
  local_cluster cluster;
  auto pid = troupe::get(troupe::task(worker_pid).remote());
  CHECK(pid != static_cast<int>(::getpid()));
  CHECK(pid > 0);
}

TEST_CASE("refs passed as arguments make a DAG that runs once its inputs are ready") {
  local_cluster cluster;
  auto a = troupe::task(make_array).remote(1000, 1.5);
  auto b = troupe::task(make_array).remote(1000, 2.0);
  auto c = troupe::task(add_arrays).remote(a, b);
  auto total = troupe::task(sum_array).remote(c);
  CHECK(troupe::get(total) == doctest::Approx(3500.0));
  auto values = troupe::get(c);
  REQUIRE(values.size() == 1000);
  CHECK(values.front() == 3.5);
}

TEST_CASE("a slow argument delays its consumer until it is ready") {
  local_cluster cluster;
  auto slow = troupe::task(slow_identity).remote(20, 300);
  auto sum = troupe::task(troupe::overload<int(int, int)>(add)).remote(slow, 22);
  CHECK(troupe::get(sum) == 42);
}

TEST_CASE("tasks can submit tasks and wait for them") {
  local_cluster cluster;
  CHECK(troupe::get(troupe::task(sum_of_squares).remote(10)) == 385);
}

TEST_CASE("more nested clients than CPUs do not deadlock the node") {
  // Each client blocks in get; blocked workers lend their CPU to the tasks
  // they wait for.
  local_cluster cluster;
  std::vector<troupe::object_ref<int>> clients;
  for (int i = 0; i < 4; ++i)
    clients.push_back(troupe::task(sum_of_squares).remote(20));
  for (auto v : troupe::get(clients, 60s))
    CHECK(v == 2870);
}

TEST_CASE("overloads are registered under names of their own") {
  local_cluster cluster;
  auto ints = troupe::task(troupe::overload<int(int, int)>(add)).remote(1, 2);
  auto doubles = troupe::task(troupe::overload<double(double, double)>(add)).remote(1.0, 2.0);
  CHECK(troupe::get(ints) == 3);
  CHECK(troupe::get(doubles) == 3.5);
  CHECK(troupe::get(troupe::task<double>("add_doubles").remote(2.0, 2.0)) == 4.5);
}

TEST_CASE("a function can be called by its registered name") {
  local_cluster cluster;
  CHECK(troupe::get(troupe::task<int>("square").remote(9)) == 81);
}

TEST_CASE("user structs with an inspect overload cross processes") {
  local_cluster cluster;
  auto p = troupe::get(troupe::task(move_point).remote(point{1, "a"}, 4));
  CHECK(p.x == 5);
  CHECK(p.label == "a'");
}

TEST_CASE("a task returning void can be waited for, and has run when get returns") {
  local_cluster cluster;
  temp_dir dir;
  auto done = dir / "done";
  auto ref = troupe::task(write_pid_later).remote(done);
  troupe::get(ref, 30s);
  // No polling: get returning means the task has ended, its effect is there.
  auto pid = troupe::test::read_file(done);
  REQUIRE_MESSAGE(!pid.empty(), "get returned before the void task wrote its file");
  CHECK(std::stoi(pid) != static_cast<int>(::getpid())); // it ran in a worker
}

TEST_CASE("put values can be got and passed to tasks") {
  local_cluster cluster;
  auto small = troupe::put(41);
  CHECK(troupe::get(small) == 41);
  CHECK(troupe::get(troupe::task(troupe::overload<int(int, int)>(add)).remote(small, 1)) == 42);
  auto text = troupe::put(std::string(1000, 'x'));
  CHECK(troupe::get(text).size() == 1000);
}

TEST_CASE("large arrays live in shared memory and are viewed without copying") {
  local_cluster cluster;
  std::vector<double> big(2'000'000, 0.25); // 16 MB: goes to the store
  auto ref = troupe::put(big);
  auto v1 = troupe::get_view(ref);
  auto v2 = troupe::get_view(ref);
  REQUIRE(v1.size() == big.size());
  CHECK(v1.data() == v2.data()); // both views point at the one stored copy
  CHECK(v1.data() != big.data());
  CHECK(v1[123] == 0.25);
  auto copy = troupe::get(ref);
  CHECK(copy.data() != v1.data());
  CHECK(troupe::get(troupe::task(sum_array).remote(ref)) == doctest::Approx(500'000.0));
}

TEST_CASE("a large task result is stored once and read by the next task in place") {
  local_cluster cluster;
  auto a = troupe::task(make_array).remote(1'000'000, 1.0);
  auto b = troupe::task(make_array).remote(1'000'000, 2.0);
  auto c = troupe::task(add_arrays).remote(a, b);
  auto view = troupe::get_view(c);
  REQUIRE(view.size() == 1'000'000);
  CHECK(view[999'999] == 3.0);
}

TEST_CASE("freed objects make room in the store for new ones") {
  // Each value takes 60% of the 64 MiB store: the second put fits only if
  // dropping the first ref freed its memory.
  local_cluster cluster;
  std::vector<double> big((40ULL << 20) / sizeof(double), 1.0);
  for (int round = 0; round < 3; ++round) {
    auto ref = troupe::put(big);
    CHECK(troupe::get_view(ref).size() == big.size());
  }
  auto task_result = troupe::task(make_array).remote(static_cast<int>(big.size()), 2.0);
  CHECK(troupe::get_view(task_result)[0] == 2.0);
}

namespace {

/// Returns whether `xs` is read in place from the stored object at `offset`
/// of this node's store (an argument copied into the task message would be
/// elsewhere).
bool reads_stored_object(troupe::shared_array<double> xs, std::uint64_t offset) {
  auto* store = troupe::detail::client::get().store();
  return store != nullptr
         && static_cast<const void*>(xs.data()) == store->view(offset).data;
}
TROUPE_REMOTE(reads_stored_object);

/// Returns the ref's value as the process's object table holds it.
troupe::detail::stored_value held_value(const troupe::object_ref<std::vector<double>>& ref) {
  troupe::detail::stored_value v;
  auto st = troupe::detail::client::get().table().peek(ref.id(), &v);
  REQUIRE(st == troupe::detail::object_table::status::ready);
  return v;
}

} // namespace

TEST_CASE("put with in_store writes a small value into the node's store, where tasks read it") {
  local_cluster cluster;
  auto& store = *troupe::detail::client::get().store();
  auto live_before = store.stats().live_objects;
  const std::vector<double> small{1.0, 2.0, 3.0}; // 24 bytes: inline by default
  auto kept_inline = troupe::put(small);
  CHECK_FALSE(held_value(kept_inline).in_store);
  CHECK(store.stats().live_objects == live_before);
  {
    auto ref = troupe::put(small, {.in_store = true});
    auto v = held_value(ref);
    REQUIRE(v.in_store);
    CHECK(v.node == troupe::current_node_id());
    CHECK(v.size == sizeof(double) * small.size());
    CHECK(store.stats().live_objects == live_before + 1);
    CHECK(troupe::get(ref) == small);
    // The driver and a task both read the one stored copy.
    CHECK(static_cast<const void*>(troupe::get_view(ref).data()) == store.view(v.offset).data);
    CHECK(troupe::get(troupe::task(reads_stored_object).remote(ref, v.offset), 30s));
    CHECK(troupe::get(troupe::task(sum_array).remote(ref), 30s) == 6.0);
    auto n = troupe::put(41, {.in_store = true});
    CHECK(troupe::get(troupe::task(troupe::overload<int(int, int)>(add)).remote(n, 1), 30s)
          == 42);
  }
  // Their last refs gone (and the tasks' reads over), the store frees both.
  CHECK(troupe::test::eventually(
    [&] { return store.stats().live_objects == live_before; }, 10s));
}

TEST_CASE("wait reports exactly num_returns ready refs, in order, as Ray does") {
  local_cluster cluster;
  std::vector<troupe::object_ref<int>> refs;
  for (int i = 0; i < 5; ++i)
    refs.push_back(troupe::put(i));
  auto one = troupe::wait(refs, 1);
  REQUIRE(one.ready.size() == 1);
  CHECK(one.ready[0] == refs[0]);
  CHECK(one.not_ready == std::vector<troupe::object_ref<int>>(refs.begin() + 1, refs.end()));
  // Taking one at a time empties the list in as many calls as it has refs.
  auto left = refs;
  int calls = 0;
  while (!left.empty()) {
    auto r = troupe::wait(left, 1, 10s);
    REQUIRE(r.ready.size() == 1);
    left = r.not_ready;
    ++calls;
  }
  CHECK(calls == 5);
  CHECK(troupe::wait(refs, 3).ready.size() == 3);
  CHECK(troupe::wait(refs).ready.size() == 5);
}

TEST_CASE("wait returns the ready refs and leaves the rest") {
  local_cluster cluster;
  auto fast = troupe::task(slow_identity).remote(1, 0);
  auto slow = troupe::task(slow_identity).remote(2, 2000);
  troupe::get(fast);
  auto r = troupe::wait(std::vector{fast, slow}, 1, 200ms);
  REQUIRE(r.ready.size() == 1);
  REQUIRE(r.not_ready.size() == 1);
  CHECK(r.ready[0] == fast);
  CHECK(r.not_ready[0] == slow);
  auto all = troupe::wait(std::vector{fast, slow});
  CHECK(all.ready.size() == 2);
}

TEST_CASE("a get that times out leaves the value to a later get") {
  local_cluster cluster;
  auto ref = troupe::task(slow_identity).remote(5, 500);
  CHECK_THROWS_AS(troupe::get(ref, 50ms), troupe::timeout_error);
  CHECK(troupe::get(ref, 10s) == 5);
}

TEST_CASE("fractional CPU requests share a CPU: four half-CPU tasks run at once on two CPUs") {
  local_cluster cluster; // 2 CPUs
  temp_dir dir;
  troupe::task_options half;
  half.num_cpus = 0.5;
  half.name = "half-cpu";
  // Six tasks that each wait for four to be inside at once: they meet only if
  // four run side by side, and a fifth admitted too early would be counted.
  std::vector<troupe::object_ref<int>> refs;
  for (int i = 0; i < 6; ++i)
    refs.push_back(troupe::task(meet, half).remote(dir.str(), 4, 300));
  for (auto seen : troupe::get(refs, 60s))
    CHECK(seen == 4);
  CHECK(overlap_gauge{dir.str()}.most() == 4);
}

TEST_CASE("custom resources are honoured: two units run two tasks at once, not more") {
  auto opts = local_cluster::small(); // 2 CPUs: room for four half-CPU tasks
  opts.resources = {{"accelerator", 2}};
  local_cluster cluster{opts};
  temp_dir dir;
  troupe::task_options o;
  o.num_cpus = 0.5;
  o.resources = {{"accelerator", 1}};
  std::vector<troupe::object_ref<int>> refs;
  for (int i = 0; i < 4; ++i)
    refs.push_back(troupe::task(meet, o).remote(dir.str(), 2, 300));
  for (auto seen : troupe::get(refs, 60s))
    CHECK(seen == 2);
  CHECK(overlap_gauge{dir.str()}.most() == 2);
}

TEST_CASE("a view kept past shutdown stays readable") {
  troupe::shared_array<double> view;
  {
    local_cluster cluster;
    auto ref = troupe::task(make_array).remote(100'000, 4.0); // 800 KB: stored
    view = troupe::get_view(ref);
  }
  REQUIRE(view.size() == 100'000);
  CHECK(view[99'999] == 4.0);
}

namespace {

int sum_refs(std::vector<troupe::object_ref<int>> refs) {
  int total = 0;
  for (auto& r : refs)
    total += troupe::get(r);
  return total;
}
TROUPE_REMOTE(sum_refs);

std::vector<troupe::object_ref<int>> make_refs(int n) {
  std::vector<troupe::object_ref<int>> out;
  for (int i = 0; i < n; ++i)
    out.push_back(troupe::task(square).remote(i));
  return out;
}
TROUPE_REMOTE(make_refs);

} // namespace

TEST_CASE("refs inside values reach other processes and resolve there") {
  local_cluster cluster;
  std::vector<troupe::object_ref<int>> refs{troupe::task(square).remote(3),
                                            troupe::put(5)};
  CHECK(troupe::get(troupe::task(sum_refs).remote(refs), 30s) == 14);
  // Refs owned by a worker, returned inside a value, got by the driver.
  auto inner = troupe::get(troupe::task(make_refs).remote(4), 30s);
  REQUIRE(inner.size() == 4);
  int total = 0;
  for (auto v : troupe::get(inner, 30s))
    total += v;
  CHECK(total == 14);
  // And stored with put, got back, passed on.
  auto boxed = troupe::put(refs);
  CHECK(troupe::get(troupe::task(sum_refs).remote(boxed), 30s) == 14);
}
