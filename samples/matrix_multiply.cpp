// create_matrix / multiply_matrices: two random matrices made in parallel by
// two tasks, multiplied by a third that receives both through the store.
#include <cmath>
#include <iostream>
#include <random>
#include <vector>

#include <troupe/troupe.hpp>

/// Returns a `n` x `n` matrix (row-major) of normally distributed values.
std::vector<double> create_matrix(int n, unsigned seed) {
  std::mt19937_64 gen{seed};
  std::normal_distribution<double> dist;
  std::vector<double> m(static_cast<std::size_t>(n) * n);
  for (auto& x : m)
    x = dist(gen);
  return m;
}
TROUPE_REMOTE(create_matrix);

std::vector<double> multiply_matrices(troupe::shared_array<double> a,
                                      troupe::shared_array<double> b, int n) {
  std::vector<double> c(static_cast<std::size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k) {
      auto aik = a[static_cast<std::size_t>(i) * n + k];
      for (int j = 0; j < n; ++j)
        c[static_cast<std::size_t>(i) * n + j] += aik * b[static_cast<std::size_t>(k) * n + j];
    }
  return c;
}
TROUPE_REMOTE(multiply_matrices);

int main() {
  troupe::init();
  const int n = 300;
  const unsigned seed = 7;
  std::cout << "random-seed=" << seed << '\n';
  auto x = troupe::task(create_matrix).remote(n, seed);
  auto y = troupe::task(create_matrix).remote(n, seed + 1);
  auto z = troupe::task(multiply_matrices).remote(x, y, n);
  auto c = troupe::get_view(z);
  // Check one entry against a local computation.
  auto a = troupe::get(x);
  auto b = troupe::get(y);
  double expected = 0;
  for (int k = 0; k < n; ++k)
    expected += a[k] * b[static_cast<std::size_t>(k) * n];
  std::cout << "z[0][0] = " << c[0] << " (local check " << expected << ")\n";
  troupe::shutdown();
  return std::abs(c[0] - expected) < 1e-9 ? 0 : 1;
}
