// The unit-test programs (lib, scheduler, actors): doctest supplies main.
//
// Randomised tests take their seed from `troupe_test_seed()`: set
// TROUPE_TEST_SEED=<n> to repeat a run; the seed in use is printed as
// `random-seed=<n>` the first time a test asks for it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

std::uint64_t troupe_test_seed() {
  static const std::uint64_t seed = [] {
    std::uint64_t s = 0;
    if (const char* env = std::getenv("TROUPE_TEST_SEED"); env && *env)
      s = std::stoull(env);
    else
      s = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^
          std::random_device{}();
    std::printf("random-seed=%llu (repeat with TROUPE_TEST_SEED=%llu)\n",
                static_cast<unsigned long long>(s), static_cast<unsigned long long>(s));
    std::fflush(stdout);
    return s;
  }();
  return seed;
}
