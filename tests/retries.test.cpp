// Retries: a task runs again after its worker was killed or crashed, or its
// node died (then elsewhere), and after exceptions its policy names, within
// `max_retries`. Each attempt leaves a file, so the tests count attempts.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <vector>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include "tests/cluster_fixture.hpp"
#include "tests/own_status.hpp"
#include "tests/rendezvous.hpp"
#include "tests/three_nodes.hpp"

using namespace std::chrono_literals;
using troupe::test::count_files;
using troupe::test::eventually;
using troupe::test::file_appears;
using troupe::test::local_cluster;
using troupe::test::own_status;
using troupe::test::temp_dir;
using troupe::test::write_file;

namespace {

/// Writes `dir/attempt-PID`, waits (up to 30 s) for `dir/go`, and returns
/// its node and pid.
std::pair<troupe::node_id, int> attempt_then_wait(std::string dir) {
  write_file(dir + "/attempt-" + std::to_string(::getpid()), "");
  file_appears(dir + "/go", 30s);
  return {troupe::current_node_id(), static_cast<int>(::getpid())};
}
TROUPE_REMOTE(attempt_then_wait);

/// Writes `dir/attempt-PID`, then aborts its worker.
int attempt_then_abort(std::string dir) {
  write_file(dir + "/attempt-" + std::to_string(::getpid()), "");
  std::abort();
}
TROUPE_REMOTE(attempt_then_abort);

/// Counts its attempt with a file `dir/attempt-N`; attempts before the
/// `succeed_on`-th throw a `std::runtime_error`, or a `std::logic_error`
/// when `logic` is set. Returns the attempt that succeeded.
int throws_until(std::string dir, int succeed_on, bool logic) {
  int attempt = count_files(dir, "attempt-") + 1;
  write_file(dir + "/attempt-" + std::to_string(attempt), "");
  if (attempt >= succeed_on)
    return attempt;
  if (logic)
    throw std::logic_error("attempt " + std::to_string(attempt));
  throw std::runtime_error("attempt " + std::to_string(attempt));
}
TROUPE_REMOTE(throws_until);

/// Writes a file `dir/PREFIX-<unique>` for each run.
void count_run(const std::string& dir, const std::string& prefix) {
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  write_file(dir + "/" + prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(now),
             "");
}

/// 1 MiB of ints from `seed` up: stored in its node's object store.
std::vector<int> counted_block(std::string dir, int seed) {
  count_run(dir, "a");
  std::vector<int> v(256 * 1024);
  std::iota(v.begin(), v.end(), seed);
  return v;
}
TROUPE_REMOTE(counted_block);

/// Each element plus one (stored too).
std::vector<int> counted_plus_one(std::string dir, const std::vector<int>& in) {
  count_run(dir, "b");
  std::vector<int> v(in);
  for (auto& x : v)
    ++x;
  return v;
}
TROUPE_REMOTE(counted_plus_one);

/// Gets the block behind a borrowed ref (inside a vector, so not resolved
/// before the task runs) and returns its first element.
int first_of_borrowed(std::vector<troupe::object_ref<std::vector<int>>> refs) {
  return troupe::get(refs.at(0), 60s).front();
}
TROUPE_REMOTE(first_of_borrowed);

/// Returns the pid of the one `dir/attempt-PID` file (call it while there
/// is one).
int only_attempt_pid(const temp_dir& dir) {
  for (auto& f : std::filesystem::directory_iterator(dir.str()))
    if (auto name = f.path().filename().string(); name.rfind("attempt-", 0) == 0)
      return std::stoi(name.substr(8));
  return 0;
}

} // namespace

TEST_CASE("a task whose worker is killed with SIGKILL runs again, and its status shows the "
          "attempt") {
  local_cluster cluster;
  temp_dir dir;
  auto r = troupe::task(attempt_then_wait).remote(dir.str()); // default: 3 retries
  REQUIRE(eventually([&] { return count_files(dir.str(), "attempt-") == 1; }, 30s));
  auto victim = only_attempt_pid(dir);
  REQUIRE(::kill(victim, SIGKILL) == 0);
  REQUIRE_MESSAGE(eventually([&] { return count_files(dir.str(), "attempt-") == 2; }, 30s),
                  "the task did not run again");
  // What `troupe list tasks` shows of the driver's task meanwhile.
  auto rows = own_status().tasks;
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].name == "attempt_then_wait");
  CHECK(rows[0].attempt == 2);
  CHECK(rows[0].last_failure.find("worker_crashed") != std::string::npos);
  CHECK(rows[0].last_failure.find("SIGKILL") != std::string::npos);
  write_file(dir / "go", "");
  auto [node, pid] = troupe::get(r, 30s);
  CHECK(pid != victim);
  CHECK(count_files(dir.str(), "attempt-") == 2);
}

TEST_CASE("a task that crashes its worker each time runs 1 + max_retries times, then fails "
          "saying so") {
  local_cluster cluster;
  SUBCASE("the default: 3 retries") {
    temp_dir dir;
    try {
      troupe::get(troupe::task(attempt_then_abort).remote(dir.str()), 60s);
      FAIL("get did not throw");
    } catch (const troupe::worker_crashed_error& e) {
      INFO(e.what());
      CHECK(e.reason().find("SIGABRT") != std::string::npos);
      CHECK(e.reason().find("on attempt 4") != std::string::npos);
    }
    CHECK(count_files(dir.str(), "attempt-") == 4);
  }
  SUBCASE("max_retries = 1") {
    temp_dir dir;
    CHECK_THROWS_AS(troupe::get(troupe::task(attempt_then_abort, {.max_retries = 1})
                                  .remote(dir.str()),
                                60s),
                    troupe::worker_crashed_error);
    CHECK(count_files(dir.str(), "attempt-") == 2);
  }
  // The node goes on serving.
  temp_dir dir;
  write_file(dir / "go", "");
  CHECK(troupe::get(troupe::task(attempt_then_wait).remote(dir.str()), 30s).second > 0);
}

TEST_CASE("exceptions named in retry_exceptions run the task again; others fail it") {
  local_cluster cluster;
  SUBCASE("a listed type is retried until the task succeeds") {
    temp_dir dir;
    troupe::task_options o{.max_retries = 5, .retry_exceptions = {"std::runtime_error"}};
    CHECK(troupe::get(troupe::task(throws_until, o).remote(dir.str(), 3, false), 30s) == 3);
  }
  SUBCASE("a type not in the list fails at once") {
    temp_dir dir;
    troupe::task_options o{.max_retries = 5, .retry_exceptions = {"std::runtime_error"}};
    try {
      troupe::get(troupe::task(throws_until, o).remote(dir.str(), 3, true), 30s);
      FAIL("get did not throw");
    } catch (const troupe::task_error& e) {
      CHECK(e.exception_type() == "std::logic_error");
    }
    CHECK(count_files(dir.str(), "attempt-") == 1);
  }
  SUBCASE("the default retries no exception") {
    temp_dir dir;
    CHECK_THROWS_AS(troupe::get(troupe::task(throws_until).remote(dir.str(), 3, false), 30s),
                    troupe::task_error);
    CHECK(count_files(dir.str(), "attempt-") == 1);
  }
  SUBCASE("true retries any exception, within max_retries") {
    temp_dir dir;
    troupe::task_options o{.max_retries = 1, .retry_exceptions = true};
    try {
      troupe::get(troupe::task(throws_until, o).remote(dir.str(), 3, true), 30s);
      FAIL("get did not throw");
    } catch (const troupe::task_error& e) {
      CHECK(e.message().find("attempt 2") != std::string::npos);
    }
    CHECK(count_files(dir.str(), "attempt-") == 2);
  }
}

TEST_CASE("three nodes: a task whose node is killed runs again on another node") {
  troupe::test::three_nodes c;
  temp_dir dir;
  // Soft affinity: on node 3 while it lives, anywhere after.
  troupe::task_options o;
  o.strategy = troupe::scheduling_strategy::on_node(3, true);
  auto r = troupe::task(attempt_then_wait, o).remote(dir.str());
  REQUIRE(eventually([&] { return count_files(dir.str(), "attempt-") == 1; }, 30s));
  auto first = only_attempt_pid(dir);
  REQUIRE(::kill(c.third->pid(), SIGKILL) == 0);
  REQUIRE_MESSAGE(eventually([&] { return count_files(dir.str(), "attempt-") >= 2; }, 30s),
                  "the task did not run again");
  write_file(dir / "go", "");
  auto [node, pid] = troupe::get(r, 30s);
  CHECK(node != 3);
  CHECK(pid != first);
}

TEST_CASE("three nodes: objects lost with their node are rebuilt from their lineage, "
          "recursively") {
  troupe::test::three_nodes c;
  temp_dir dir;
  troupe::task_options on3;
  on3.strategy = troupe::scheduling_strategy::on_node(3, true); // soft: elsewhere once dead
  auto a = troupe::task(counted_block, on3).remote(dir.str(), 10);
  auto b = troupe::task(counted_plus_one, on3).remote(dir.str(), a);
  // Ready, in node 3's store only (wait does not fetch a copy).
  REQUIRE(troupe::wait(std::vector{b}, 1, 60s).ready.size() == 1);
  REQUIRE(count_files(dir.str(), "a-") == 1);
  REQUIRE(count_files(dir.str(), "b-") == 1);
  REQUIRE(::kill(c.third->pid(), SIGKILL) == 0);
  REQUIRE(eventually([] { return !troupe::nodes()[2].alive; }, 30s));
  // b's get finds its copy gone: b runs again, which needs a, also gone.
  auto v = troupe::get(b, 60s);
  REQUIRE(v.size() == 256 * 1024);
  CHECK(v.front() == 11);
  CHECK(v.back() == 10 + 256 * 1024);
  CHECK(count_files(dir.str(), "a-") == 2);
  CHECK(count_files(dir.str(), "b-") == 2);
  CHECK(troupe::get(a, 30s).front() == 10);
}

TEST_CASE("three nodes: a borrower's get of a lost object has its owner rebuild it") {
  troupe::test::three_nodes c;
  temp_dir dir;
  troupe::task_options on3;
  on3.strategy = troupe::scheduling_strategy::on_node(3, true);
  auto a = troupe::task(counted_block, on3).remote(dir.str(), 5);
  REQUIRE(troupe::wait(std::vector{a}, 1, 60s).ready.size() == 1);
  REQUIRE(::kill(c.third->pid(), SIGKILL) == 0);
  REQUIRE(eventually([] { return !troupe::nodes()[2].alive; }, 30s));
  // A task on node 2 borrows the ref and gets it: the driver rebuilds it.
  troupe::task_options on2;
  on2.strategy = troupe::scheduling_strategy::on_node(2);
  CHECK(troupe::get(troupe::task(first_of_borrowed, on2).remote(std::vector{a}), 60s) == 5);
  CHECK(count_files(dir.str(), "a-") == 2);
}
