// troupe::pool, multiprocessing's Pool on the cluster: count the primes in
// ranges of numbers, once with std::transform on this thread and once with
// pool.map across the cluster's worker processes, and compare.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <numeric>
#include <vector>

#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

/// The primes in [from, from + 20,000), by trial division (CPU-bound on purpose).
std::int64_t primes_in_block(std::int64_t from) {
  std::int64_t count = 0;
  for (auto n = std::max<std::int64_t>(from, 2); n < from + 20'000; ++n) {
    bool prime = true;
    for (std::int64_t d = 2; d * d <= n && prime; ++d)
      prime = n % d != 0;
    count += prime;
  }
  return count;
}
TROUPE_REMOTE(primes_in_block);

int main() {
  troupe::init(); // workers branch off here: keep it first
  std::vector<std::int64_t> blocks(200);
  for (std::size_t i = 0; i < blocks.size(); ++i)
    blocks[i] = static_cast<std::int64_t>(i) * 20'000;

  using clock = std::chrono::steady_clock;
  auto seconds = [](clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  auto t0 = clock::now();
  std::vector<std::int64_t> local(blocks.size());
  std::transform(blocks.begin(), blocks.end(), local.begin(), primes_in_block);
  auto one_thread = seconds(t0);

  troupe::pool pool; // as many chunks at once as the cluster has CPUs
  t0 = clock::now();
  auto counted = pool.map(primes_in_block, blocks);
  auto pooled = seconds(t0);

  auto total = std::accumulate(counted.begin(), counted.end(), std::int64_t{0});
  std::cout << "primes below 4,000,000: " << total << "\n"
            << "one thread: " << one_thread << " s; pool of " << pool.processes()
            << ": " << pooled << " s (" << one_thread / pooled << "x)\n";

  // Results as they finish, and one call on its own.
  std::int64_t first_blocks = 0;
  for (auto n : pool.imap_unordered(primes_in_block, std::vector<std::int64_t>{0, 20'000}))
    first_blocks += n;
  auto single = troupe::get(pool.apply_async(primes_in_block, std::int64_t{0}));
  std::cout << "primes below 40,000: " << first_blocks << "; below 20,000: " << single
            << "\n";
  troupe::shutdown();
  return counted == local && total == 283'146 && first_blocks == 4'203 ? 0 : 1;
}
