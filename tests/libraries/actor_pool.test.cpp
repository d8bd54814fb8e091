// troupe::actor_pool on a real local cluster: values over a fixed set of
// actors, in order or as they finish, across actors that die.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "tests/cluster_fixture.hpp"
#include "tests/rendezvous.hpp"
#include "troupe/actor_pool.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;
using troupe::test::temp_dir;

namespace {

/// Squares values. The value `stall` waits, the first time, until the file
/// `dir/go` exists, after writing its process id to `dir/stalled`.
class squarer {
public:
  squarer(std::string dir, int stall) : dir_(std::move(dir)), stall_(stall) {}

  int square(int x) {
    if (x == stall_ && troupe::test::read_file(dir_ + "/stalled").empty()) {
      troupe::test::write_file(dir_ + "/stalled", std::to_string(::getpid()));
      troupe::test::file_appears(dir_ + "/go", 20s);
    }
    return x * x;
  }
  int pid() const { return ::getpid(); }

private:
  std::string dir_;
  int stall_;
};
std::unique_ptr<squarer> make_squarer(std::string dir, int stall) {
  return std::make_unique<squarer>(std::move(dir), stall);
}
TROUPE_REMOTE(make_squarer);
TROUPE_REMOTE(&squarer::square);
TROUPE_REMOTE(&squarer::pid);

using handle = troupe::actor_handle<squarer>;

troupe::object_ref<int> square_on(const handle& a, int x) {
  return a.task(&squarer::square).remote(x);
}

std::vector<handle> squarers(const temp_dir& dir, int n, int stall,
                             const troupe::actor_options& o = {}) {
  std::vector<handle> out;
  for (int i = 0; i < n; ++i)
    out.push_back(troupe::actor(make_squarer, o).remote(dir.str(), stall));
  return out;
}

std::vector<int> squares(int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i)
    out.push_back(i * i);
  return out;
}

std::vector<int> range(int n) {
  std::vector<int> out(n);
  for (int i = 0; i < n; ++i)
    out[i] = i;
  return out;
}

/// SIGKILLs the process that stalls on its value, once it does, and lets
/// stalls go on. A thread of its own: the pool hands out values only while
/// its submitter takes results.
std::thread kill_the_stalled(const temp_dir& dir) {
  return std::thread([path = dir.str()] {
    if (troupe::test::file_appears(path + "/stalled", 20s))
      ::kill(std::stoi(troupe::test::read_file(path + "/stalled")), SIGKILL);
    troupe::test::write_file(path + "/go", "");
  });
}

} // namespace

TEST_CASE("map gives results in order, map_unordered all of them, using every actor") {
  local_cluster cluster;
  temp_dir dir;
  auto actors = squarers(dir, 3, -1);
  troupe::actor_pool<squarer, int> pool(actors);
  CHECK(pool.size() == 3);
  CHECK(pool.map(square_on, range(20)) == squares(20));
  auto unordered = pool.map_unordered(square_on, range(20));
  std::sort(unordered.begin(), unordered.end());
  CHECK(unordered == squares(20));
  // Each actor took its share: the pool's actors are all idle again.
  std::set<int> pids;
  while (auto a = pool.pop_idle())
    pids.insert(troupe::get(a->task(&squarer::pid).remote()));
  CHECK(pids.size() == 3);
  CHECK(pool.size() == 0);
}

TEST_CASE("submit, has_next, has_free, get_next in order, push") {
  local_cluster cluster;
  temp_dir dir;
  troupe::actor_pool<squarer, int> pool(squarers(dir, 1, 3));
  CHECK(pool.has_free());
  CHECK_FALSE(pool.has_next());
  pool.submit(square_on, 3); // stalls until go
  pool.submit(square_on, 4);
  CHECK_FALSE(pool.has_free());
  CHECK(pool.has_next());
  CHECK_THROWS_AS(pool.get_next(200ms), troupe::timeout_error);
  troupe::test::write_file(dir / "go", "");
  CHECK(pool.get_next() == 9); // still there after the timeout
  pool.push(squarers(dir, 1, -1).front());
  CHECK(pool.size() == 2);
  CHECK(pool.get_next() == 16);
  CHECK_FALSE(pool.has_next());
  CHECK_THROWS_AS(pool.get_next(), std::logic_error);
}

TEST_CASE("an actor killed for good leaves the pool; its value goes to another") {
  local_cluster cluster;
  temp_dir dir;
  troupe::actor_pool<squarer, int> pool(squarers(dir, 2, 5));
  for (int x : range(10))
    pool.submit(square_on, x);
  auto killer = kill_the_stalled(dir);
  std::vector<int> got;
  while (pool.has_next())
    got.push_back(pool.get_next());
  killer.join();
  CHECK(got == squares(10));
  CHECK(pool.size() == 1);
  CHECK(::kill(std::stoi(troupe::test::read_file(dir / "stalled")), 0) != 0); // it died
}

TEST_CASE("an actor that restarts stays in the pool; the call lost with it is sent again") {
  local_cluster cluster;
  temp_dir dir;
  troupe::actor_pool<squarer, int> pool(squarers(dir, 2, 5, {.max_restarts = 2}));
  for (int x : range(10))
    pool.submit(square_on, x);
  auto killer = kill_the_stalled(dir);
  std::vector<int> got;
  while (pool.has_next())
    got.push_back(pool.get_next_unordered());
  killer.join();
  std::sort(got.begin(), got.end());
  CHECK(got == squares(10));
  CHECK(pool.size() == 2);
  CHECK(pool.map(square_on, range(4)) == squares(4)); // both still serve
  // Both are alive, one of them rebuilt in a new process.
  auto stalled = std::stoi(troupe::test::read_file(dir / "stalled"));
  while (auto a = pool.pop_idle())
    CHECK(troupe::get(a->task(&squarer::pid).remote()) != stalled);
}

TEST_CASE("when every actor died, get_next says so") {
  local_cluster cluster;
  temp_dir dir;
  auto actors = squarers(dir, 1, -1);
  troupe::actor_pool<squarer, int> pool(actors);
  troupe::kill(actors.front());
  pool.submit(square_on, 2);
  CHECK_THROWS_AS(pool.get_next(), troupe::actor_died_error);
  CHECK(pool.size() == 0);
}
