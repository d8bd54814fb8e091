// The main sample: a DAG of tasks over arrays. Two tasks make arrays, a third
// adds them once both are ready, a fourth sums the result. Large arrays live
// in the node's shared-memory object store; tasks taking
// `troupe::shared_array` read them in place, without a copy.
//
//     make_array ──┐
//                  ├──> add_arrays ──> sum
//     make_array ──┘
#include <chrono>
#include <iostream>
#include <numeric>
#include <vector>

#include <troupe/troupe.hpp>

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

double sum(troupe::shared_array<double> xs) {
  return std::accumulate(xs.begin(), xs.end(), 0.0);
}
TROUPE_REMOTE(sum);

int main() {
  // Starts an embedded local cluster: a node daemon and one worker per CPU,
  // all running this executable.
  troupe::init();
  auto start = std::chrono::steady_clock::now();

  const int n = 10'000'000; // 80 MB per array
  auto a = troupe::task(make_array).remote(n, 1.0);
  auto b = troupe::task(make_array).remote(n, 2.0);
  auto c = troupe::task(add_arrays).remote(a, b); // runs when a and b are ready
  auto total = troupe::task(sum).remote(c);

  std::cout << "sum(a + b) = " << troupe::get(total) << " (expected " << 3.0 * n
            << ")\n";
  auto view = troupe::get_view(c); // a view into shared memory: no copy
  std::cout << "c[0] = " << view[0] << ", c has " << view.size() << " elements\n";
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::cout << "the DAG took " << took.count() << " s\n";
  troupe::shutdown();
}
