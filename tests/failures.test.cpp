// Bad input and failures: each gives a clear error, never a hang, and the
// cluster keeps serving afterwards.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "tests/cluster_fixture.hpp"
#include "tests/rendezvous.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;
using troupe::test::temp_dir;

namespace {

int fails(int x) {
  if (x < 0)
    throw std::out_of_range("x must not be negative, got " + std::to_string(x));
  return x;
}
TROUPE_REMOTE(fails);

int throws_int() {
  throw 42;
}
TROUPE_REMOTE(throws_int);

int twice(int x) { return 2 * x; }
TROUPE_REMOTE(twice);

int crash_abort() {
  std::abort();
}
TROUPE_REMOTE(crash_abort);

int crash_segfault() {
  std::raise(SIGSEGV);
  return 0;
}
TROUPE_REMOTE(crash_segfault);

/// Writes the file `dir/started-PID`, sleeps, and returns its pid.
int signal_then_sleep(std::string dir, int millis) {
  troupe::test::write_file(dir + "/started-" + std::to_string(::getpid()), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(millis));
  return static_cast<int>(::getpid());
}
TROUPE_REMOTE(signal_then_sleep);

/// Writes the file `dir/started-PID` and waits (up to 10 s) for `n` such
/// files: returns its pid if they all met, else -1.
int meet_then_pid(std::string dir, int n) {
  troupe::test::write_file(dir + "/started-" + std::to_string(::getpid()), "");
  auto met = troupe::test::eventually(
    [&] { return troupe::test::count_files(dir, "started-") >= n; }, 10s);
  return met ? static_cast<int>(::getpid()) : -1;
}
TROUPE_REMOTE(meet_then_pid);

std::vector<double> huge_array(long n) {
  return std::vector<double>(static_cast<std::size_t>(n), 1.0);
}
TROUPE_REMOTE(huge_array);

int unregistered(int x) { return x; }

} // namespace

TEST_CASE("a task that throws fails get with task_error naming task, type and message") {
  local_cluster cluster;
  auto ref = troupe::task(fails).remote(-3);
  try {
    troupe::get(ref, 30s);
    FAIL("get did not throw");
  } catch (const troupe::task_error& e) {
    CHECK(e.task_name() == "fails");
    CHECK(e.exception_type() == "std::out_of_range");
    CHECK(e.message() == "x must not be negative, got -3");
    CHECK(std::string{e.what()}.find("std::out_of_range") != std::string::npos);
  }
  // The worker survives an exception and serves the next task.
  CHECK(troupe::get(troupe::task(fails).remote(3), 30s) == 3);
}

TEST_CASE("a task throwing a non-std exception reports its type") {
  local_cluster cluster;
  try {
    troupe::get(troupe::task(throws_int).remote(), 30s);
    FAIL("get did not throw");
  } catch (const troupe::task_error& e) {
    CHECK(e.exception_type() == "int");
  }
}

TEST_CASE("a task depending on a failed task fails with the same cause") {
  local_cluster cluster;
  auto bad = troupe::task(fails).remote(-1);
  auto dependent = troupe::task(twice).remote(bad);
  auto further = troupe::task(twice).remote(dependent);
  try {
    troupe::get(further, 30s);
    FAIL("get did not throw");
  } catch (const troupe::task_error& e) {
    CHECK(e.task_name() == "fails");
    CHECK(e.exception_type() == "std::out_of_range");
  }
}

TEST_CASE("a task that aborts its worker fails with worker_crashed and the node goes on") {
  local_cluster cluster;
  try {
    troupe::get(troupe::task(crash_abort).remote(), 30s);
    FAIL("get did not throw");
  } catch (const troupe::worker_crashed_error& e) {
    CHECK(e.task_name() == "crash_abort");
    CHECK(e.reason().find("SIGABRT") != std::string::npos);
  }
  CHECK(troupe::get(troupe::task(twice).remote(21), 30s) == 42);
}

TEST_CASE("a segfaulting task fails with worker_crashed naming the signal") {
  local_cluster cluster;
  try {
    troupe::get(troupe::task(crash_segfault).remote(), 30s);
    FAIL("get did not throw");
  } catch (const troupe::worker_crashed_error& e) {
    CHECK(e.reason().find("SIGSEGV") != std::string::npos);
  }
  // The pool is refilled: two tasks still run side by side (they meet).
  temp_dir dir;
  auto ra = troupe::task(meet_then_pid).remote(dir.str(), 2);
  auto rb = troupe::task(meet_then_pid).remote(dir.str(), 2);
  auto a = troupe::get(ra, 30s);
  auto b = troupe::get(rb, 30s);
  CHECK(a > 0);
  CHECK(b > 0);
  CHECK(a != b);
}

/// Occupies both workers with long tasks, waits until both run (each writes
/// a file named by its pid), sends `signal` to one of them, and checks that
/// exactly its task (which has no retries) fails, killed by SIGKILL (SIGKILL itself, or the node's,
/// once the heartbeat finds it frozen), while the other finishes in its own
/// worker; the node keeps serving.
void one_worker_fails_after(int signal, int task_millis) {
  temp_dir dir;
  // Not run again (retries.test.cpp covers that): the failure is the subject.
  troupe::task_options once{.max_retries = 0};
  auto a = troupe::task(signal_then_sleep, once).remote(dir.str(), task_millis);
  auto b = troupe::task(signal_then_sleep, once).remote(dir.str(), task_millis);
  REQUIRE_MESSAGE(troupe::test::eventually(
                    [&] { return troupe::test::count_files(dir.str(), "started-") == 2; },
                    30s),
                  "the two tasks did not both start");
  int victim_pid = 0;
  for (auto& f : std::filesystem::directory_iterator(dir.str()))
    victim_pid = std::stoi(f.path().filename().string().substr(8));
  REQUIRE(::kill(victim_pid, signal) == 0);
  int crashed = 0;
  for (auto* r : {&a, &b}) {
    try {
      auto pid = troupe::get(*r, 30s); // outside CHECK, which would catch
      CHECK(pid != victim_pid);
    } catch (const troupe::worker_crashed_error& e) {
      ++crashed;
      INFO(e.what());
      CHECK(e.task_name() == "signal_then_sleep");
      CHECK(e.reason().find("SIGKILL") != std::string::npos);
    }
  }
  CHECK(crashed == 1);
  CHECK(troupe::get(troupe::task(twice).remote(4), 30s) == 8);
}

TEST_CASE("a worker killed with SIGKILL while running a task fails that task") {
  local_cluster cluster;
  one_worker_fails_after(SIGKILL, 3000);
}

TEST_CASE("an unregistered function is refused at submission") {
  local_cluster cluster;
  CHECK_THROWS_AS(troupe::task(unregistered), troupe::unknown_function_error);
  try {
    troupe::task<int>("no_such_function");
    FAIL("no error");
  } catch (const troupe::unknown_function_error& e) {
    CHECK(std::string{e.what()}.find("no_such_function") != std::string::npos);
  }
}

TEST_CASE("wrong argument types are refused at submission") {
  local_cluster cluster;
  try {
    troupe::task<int>("twice").remote(std::string{"seven"});
    FAIL("no error");
  } catch (const troupe::argument_type_error& e) {
    std::string what = e.what();
    CHECK(what.find("argument 1 of 'twice'") != std::string::npos);
    CHECK(what.find("int") != std::string::npos);
  }
  CHECK_THROWS_AS(troupe::task<int>("twice").remote(1, 2), troupe::argument_type_error);
  CHECK_THROWS_AS(troupe::task<std::string>("twice").remote(1),
                  troupe::argument_type_error);
  // A ref of the wrong type, by name.
  auto text = troupe::put(std::string{"x"});
  CHECK_THROWS_AS(troupe::task<int>("twice").remote(text), troupe::argument_type_error);
}

TEST_CASE("with spilling off, a value larger than the store fails with object_store_full "
          "and the cluster goes on") {
  // No spill folder can be made under /proc: the store refuses what does not
  // fit (with spilling on, such a value goes to disk: spilling.test.cpp).
  auto opts = local_cluster::small(); // 64 MiB store
  opts.spill_dir = "/proc/troupe-no-spill";
  local_cluster cluster{opts};
  std::vector<double> too_big((80ULL << 20) / sizeof(double), 1.0);
  try {
    troupe::put(too_big);
    FAIL("no error");
  } catch (const troupe::object_store_full& e) {
    CHECK(std::string{e.what()}.find("bytes requested") != std::string::npos);
    CHECK(std::string{e.what()}.find("spilling is off") != std::string::npos);
  }
  auto from_task = troupe::task(huge_array).remote(static_cast<long>(too_big.size()));
  CHECK_THROWS_AS(troupe::get(from_task, 30s), troupe::object_store_full);
  CHECK(troupe::get(troupe::task(twice).remote(5), 30s) == 10);
  std::vector<double> fits((8ULL << 20) / sizeof(double), 2.0);
  CHECK(troupe::get_view(troupe::put(fits))[0] == 2.0);
}

TEST_CASE("a task asking for resources no node has fails instead of hanging") {
  local_cluster cluster;
  troupe::task_options gpu;
  gpu.num_gpus = 1;
  try {
    troupe::get(troupe::task(twice, gpu).remote(1), 30s);
    FAIL("no error");
  } catch (const troupe::unschedulable_error& e) {
    std::string what = e.what();
    CHECK(what.find("GPU") != std::string::npos);
    CHECK(what.find("twice") != std::string::npos);
  }
  troupe::task_options too_many;
  too_many.num_cpus = 3;
  CHECK_THROWS_AS(troupe::get(troupe::task(twice, too_many).remote(1), 30s),
                  troupe::unschedulable_error);
  CHECK(troupe::get(troupe::task(twice).remote(6), 30s) == 12);
}

TEST_CASE("get with the wrong type for a ref is refused") {
  local_cluster cluster;
  auto ref = troupe::put(std::string{"text"});
  troupe::object_ref<int> wrong{ref.handle()};
  CHECK_THROWS_AS(troupe::get(wrong), troupe::argument_type_error);
}

TEST_CASE("using troupe before init is a clear error") {
  CHECK_THROWS_AS(troupe::put(1), troupe::error);
  try {
    troupe::put(1);
  } catch (const troupe::error& e) {
    CHECK(std::string{e.what()}.find("init") != std::string::npos);
  }
}

TEST_CASE("a frozen worker is noticed by the heartbeat and its task fails") {
  // SIGSTOP leaves the TCP connection open: only the middleman heartbeat and
  // connection timeout (5 s) reveal it; the node then kills the worker.
  local_cluster cluster;
  one_worker_fails_after(SIGSTOP, 2000);
}
