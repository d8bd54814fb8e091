// The node's shared-memory store against workers SIGKILLed while they use
// it: the store never stays locked, and what the dead held comes back.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <deque>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "lib/core/client.hpp"
#include "tests/cluster_fixture.hpp"
#include "tests/rendezvous.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;
using troupe::test::temp_dir;

namespace {

/// Writes `dir/started-PID`, then puts values of `kb` KiB into the store for
/// ever (keeping the last 8), until it is killed.
int put_forever(std::string dir, int kb) {
  troupe::test::write_file(dir + "/started-" + std::to_string(::getpid()), "");
  std::deque<troupe::object_ref<std::vector<char>>> kept;
  for (char c = 0;; ++c) {
    kept.push_back(troupe::put(std::vector<char>(static_cast<std::size_t>(kb) * 1024, c)));
    if (kept.size() > 8)
      kept.pop_front();
  }
}
TROUPE_REMOTE(put_forever);

int pid_in(const std::string& dir) {
  for (auto& f : std::filesystem::directory_iterator(dir))
    return std::stoi(f.path().filename().string().substr(8));
  return 0;
}

} // namespace

TEST_CASE("workers SIGKILLed while they put into the store never leave it locked, "
          "and their objects' space comes back") {
  local_cluster cluster;
  auto seed = std::random_device{}();
  MESSAGE("seed " << seed);
  std::mt19937 rng{seed};
  auto& store = *troupe::detail::client::get().store();
  auto before = store.stats();
  constexpr int rounds = 30;
  for (int round = 0; round < rounds; ++round) {
    CAPTURE(round);
    temp_dir dir;
    auto ref = troupe::task(put_forever, {.max_retries = 0}).remote(dir.str(), 320);
    REQUIRE(troupe::test::eventually(
      [&] { return troupe::test::count_files(dir.str(), "started-") == 1; }, 30s));
    // The random moment: 20-100 ms into its puts.
    timespec pause{0, static_cast<long>(20'000'000 + rng() % 80'000'000)};
    ::nanosleep(&pause, nullptr);
    REQUIRE(::kill(pid_in(dir.str()), SIGKILL) == 0);
    CHECK_THROWS_AS(troupe::get(ref, 30s), troupe::worker_crashed_error);
    // The driver stores and reads 8 MB: it would block for good on a lock
    // the dead worker held.
    std::vector<double> big(1024 * 1024, static_cast<double>(round));
    auto x = troupe::put(big);
    auto back = troupe::get(x, 30s);
    REQUIRE(back.size() == big.size());
    CHECK(back.front() == round);
    CHECK(back.back() == round);
  }
  // The node's store manager drops the dead workers' holds (every 2 s).
  auto whole = troupe::test::eventually(
    [&] {
      auto s = store.stats();
      return s.live_objects == before.live_objects && s.free_bytes == before.free_bytes;
    },
    20s);
  auto s = store.stats();
  CHECK_MESSAGE(whole, "store holds " << s.live_objects << " objects, " << s.free_bytes
                                      << " bytes free; before: " << before.live_objects
                                      << ", " << before.free_bytes);
  MESSAGE("the store's lock was taken over from a dead holder " << s.recoveries
                                                                << " time(s)");
}
