// Four tasks f(i) run in parallel on the worker pool, and the driver gets
// their results (and sees what they print): the "hello world" of troupe.
#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

#include <troupe/troupe.hpp>

int f(int i) {
  // A task's output reaches the driver's terminal, prefixed with the task
  // and its worker: "(f pid=1234, node=1) computing f(2)".
  std::cout << "computing f(" << i << ")" << std::endl;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  return i * i;
}
TROUPE_REMOTE(f);

int main() {
  troupe::init();
  auto start = std::chrono::steady_clock::now();
  std::vector<troupe::object_ref<int>> refs;
  for (int i = 0; i < 4; ++i)
    refs.push_back(troupe::task(f).remote(i));
  auto values = troupe::get(refs);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::cout << "f(0..3) = ";
  for (auto v : values)
    std::cout << v << ' ';
  std::cout << "in " << took.count() << " s (each task sleeps 0.2 s)\n";
  troupe::shutdown();
}
