// Cancelling tasks and actor calls: a queued one never runs, a running one
// sees is_cancelled(), force kills its worker (no retry), recursive reaches
// the tasks it submitted, and get throws task_cancelled_error at once.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>

#include "tests/cluster_fixture.hpp"
#include "tests/process_helpers.hpp"
#include "tests/rendezvous.hpp"

using namespace std::chrono_literals;
using troupe::test::count_files;
using troupe::test::eventually;
using troupe::test::file_appears;
using troupe::test::local_cluster;
using troupe::test::temp_dir;
using troupe::test::write_file;

namespace {

/// Writes `dir/started-PID`, then waits (up to 30 s) for `dir/go`.
int block(std::string dir) {
  write_file(dir + "/started-" + std::to_string(::getpid()), "");
  file_appears(dir + "/go", 30s);
  return static_cast<int>(::getpid());
}
TROUPE_REMOTE(block);

/// Writes `dir/NAME`.
int mark(std::string dir, std::string name) {
  write_file(dir + "/" + name, "");
  return 1;
}
TROUPE_REMOTE(mark);

/// Writes `dir/started-PID`, then polls is_cancelled() (up to 30 s);
/// writes `dir/saw-cancel` when it turned true.
int until_cancelled(std::string dir) {
  write_file(dir + "/started-" + std::to_string(::getpid()), "");
  auto until = std::chrono::steady_clock::now() + 30s;
  while (!troupe::is_cancelled() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  if (troupe::is_cancelled())
    write_file(dir + "/saw-cancel", "");
  return 0;
}
TROUPE_REMOTE(until_cancelled);

/// Submits `until_cancelled` in `dir/child` and waits for it.
int parent_of_one(std::string dir) {
  auto child = troupe::task(until_cancelled).remote(dir + "/child");
  return troupe::get(child, 60s);
}
TROUPE_REMOTE(parent_of_one);

class worker_actor {
public:
  int until_cancelled(std::string dir) { return ::until_cancelled(std::move(dir)); }
  int mark(std::string dir, std::string name) { return ::mark(std::move(dir), std::move(name)); }
};
std::unique_ptr<worker_actor> make_worker_actor() { return std::make_unique<worker_actor>(); }
TROUPE_REMOTE(make_worker_actor);
TROUPE_REMOTE(&worker_actor::until_cancelled);
TROUPE_REMOTE(&worker_actor::mark);

template <class R>
void cancelled(const R& r) {
  CHECK_THROWS_AS(troupe::get(r, 30s), troupe::task_cancelled_error);
}

} // namespace

TEST_CASE("a task cancelled while it waits for a worker never runs") {
  local_cluster cluster; // 2 CPUs
  temp_dir dir;
  auto a = troupe::task(block).remote(dir.str());
  auto b = troupe::task(block).remote(dir.str());
  REQUIRE(eventually([&] { return count_files(dir.str(), "started-") == 2; }, 30s));
  auto queued = troupe::task(mark).remote(dir.str(), "ran");
  troupe::cancel(queued);
  cancelled(queued);
  write_file(dir / "go", "");
  troupe::get(a, 30s);
  troupe::get(b, 30s);
  // The workers are free: a task submitted after it runs, and it did not.
  CHECK(troupe::get(troupe::task(mark).remote(dir.str(), "later"), 30s) == 1);
  CHECK_FALSE(std::filesystem::exists(dir / "ran"));
}

TEST_CASE("a running task sees is_cancelled, and get throws at once") {
  local_cluster cluster;
  temp_dir dir;
  auto r = troupe::task(until_cancelled).remote(dir.str());
  REQUIRE(eventually([&] { return count_files(dir.str(), "started-") == 1; }, 30s));
  troupe::cancel(r);
  cancelled(r);
  CHECK(file_appears(dir / "saw-cancel", 30s));
}

TEST_CASE("a forced cancel kills the task's worker and the task is not retried") {
  local_cluster cluster;
  temp_dir dir;
  auto r = troupe::task(block).remote(dir.str()); // default: 3 retries
  REQUIRE(eventually([&] { return count_files(dir.str(), "started-") == 1; }, 30s));
  int pid = 0;
  for (auto& f : std::filesystem::directory_iterator(dir.str()))
    pid = std::stoi(f.path().filename().string().substr(8));
  troupe::cancel(r, {.force = true});
  cancelled(r);
  CHECK(troupe::test::gone_within(pid, 30s));
  // Nothing ran it again, and the node serves on.
  CHECK(troupe::get(troupe::task(mark).remote(dir.str(), "after"), 30s) == 1);
  CHECK(count_files(dir.str(), "started-") == 1);
}

TEST_CASE("a recursive cancel reaches the tasks the cancelled task submitted") {
  local_cluster cluster;
  temp_dir dir;
  auto child = dir.str() + "/child";
  std::filesystem::create_directory(child);
  auto parent = troupe::task(parent_of_one).remote(dir.str());
  REQUIRE(eventually([&] { return count_files(child, "started-") == 1; },
                     30s));
  troupe::cancel(parent); // recursive by default
  cancelled(parent);
  CHECK(file_appears(child + "/saw-cancel", 30s));
}

TEST_CASE("an actor call that has not started is removed; a running one sees "
          "is_cancelled; force is refused") {
  local_cluster cluster;
  temp_dir dir;
  auto w = troupe::actor(make_worker_actor).remote();
  auto running = w.task(&worker_actor::until_cancelled).remote(dir.str());
  REQUIRE(eventually([&] { return count_files(dir.str(), "started-") == 1; }, 30s));
  auto behind = w.task(&worker_actor::mark).remote(dir.str(), "behind");
  CHECK_THROWS_AS(troupe::cancel(behind, {.force = true}), troupe::error);
  troupe::cancel(behind);
  cancelled(behind);
  troupe::cancel(running);
  cancelled(running);
  CHECK(file_appears(dir / "saw-cancel", 30s));
  // The actor goes on; the cancelled call never ran.
  CHECK(troupe::get(w.task(&worker_actor::mark).remote(dir.str(), "next"), 30s) == 1);
  CHECK_FALSE(std::filesystem::exists(dir / "behind"));
}
