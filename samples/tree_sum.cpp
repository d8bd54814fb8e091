// The sum of 8 values, once as a chain of additions (7 steps, one after the
// other) and once as a tree (depth 3: 4, then 2, then 1 addition, each level
// in parallel). Each addition sleeps 100 ms, so the times show the shape.
#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

#include <troupe/troupe.hpp>

int add(int x, int y) {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return x + y;
}
TROUPE_REMOTE(add);

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

int main() {
  troupe::init({.num_cpus = 4}); // four workers: a whole tree level at once
  std::vector<int> values{1, 2, 3, 4, 5, 6, 7, 8};

  auto start = clock_type::now();
  auto linear = troupe::put(values[0]);
  for (std::size_t i = 1; i < values.size(); ++i)
    linear = troupe::task(add).remote(linear, values[i]);
  std::cout << "linear: " << troupe::get(linear) << " in " << seconds_since(start)
            << " s (7 additions in a row)\n";

  start = clock_type::now();
  std::vector<troupe::object_ref<int>> level;
  for (auto v : values)
    level.push_back(troupe::put(v));
  int depth = 0;
  while (level.size() > 1) {
    std::vector<troupe::object_ref<int>> next;
    for (std::size_t i = 0; i + 1 < level.size(); i += 2)
      next.push_back(troupe::task(add).remote(level[i], level[i + 1]));
    level = std::move(next);
    ++depth;
  }
  std::cout << "tree:   " << troupe::get(level[0]) << " in " << seconds_since(start)
            << " s (depth " << depth << ")\n";
  troupe::shutdown();
}
