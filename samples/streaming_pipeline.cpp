// A streaming pipeline: a generator task reads batches of samples one at a
// time; each batch goes to a task as soon as it is yielded, before the
// reader is done; an async actor adds up the tasks' results, awaiting each
// without blocking the next. Backpressure keeps the reader at most four
// batches ahead of the pipeline.
#include <chrono>
#include <cstdio>
#include <memory>
#include <numeric>
#include <tuple>
#include <vector>

#include <troupe/troupe.hpp>

/// Yields `count` batches of `size` samples, one at a time.
troupe::generator<std::vector<double>> read_batches(int count, int size) {
  for (int b = 0; b < count; ++b) {
    std::vector<double> xs(static_cast<std::size_t>(size));
    for (int i = 0; i < size; ++i)
      xs[static_cast<std::size_t>(i)] = b + 0.5;
    co_yield xs; // the caller gets a ref to this batch now
  }
}
TROUPE_REMOTE(read_batches);

/// Returns the mean of a batch, read in place in the node's store.
double batch_mean(troupe::shared_array<double> xs) {
  return std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
}
TROUPE_REMOTE(batch_mean);

/// An async actor: `add` awaits a mean while other `add`s go on.
class running_total {
public:
  troupe::async<double> add(troupe::object_ref<double> mean) {
    double x = co_await mean; // suspends this call only
    total_ += x;
    ++count_;
    co_return total_;
  }
  /// Two results, two refs.
  std::tuple<double, int> result() const { return {total_, count_}; }

private:
  double total_ = 0;
  int count_ = 0;
};

std::unique_ptr<running_total> make_running_total() {
  return std::make_unique<running_total>();
}
TROUPE_REMOTE(make_running_total);
TROUPE_REMOTE(&running_total::add);
TROUPE_REMOTE(&running_total::result);

int main() {
  troupe::init();
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  auto ms = [&] {
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };

  troupe::task_options reader;
  reader.generator_backpressure = 4;
  constexpr int batches = 16;
  auto stream =
      troupe::task(read_batches, reader).remote(batches, 200'000); // 1.6 MB each
  auto total = troupe::actor(make_running_total).remote();

  std::vector<troupe::object_ref<double>> partial;
  for (troupe::object_ref<std::vector<double>> batch : stream) {
    if (partial.empty())
      std::printf("first batch after %.1f ms\n", ms());
    auto mean = troupe::task(batch_mean).remote(batch); // starts now
    partial.push_back(total.task(&running_total::add).remote(mean));
  }
  std::printf("all %d batches read after %.1f ms\n", batches, ms());
  troupe::get(partial);

  auto [sum, count] = total.task(&running_total::result).remote();
  int n = troupe::get(count);
  std::printf("sum of %d means = %.1f (expected %.1f), done after %.1f ms\n", n,
              troupe::get(sum), batches * batches / 2.0, ms());
  troupe::shutdown();
  return n == batches ? 0 : 1;
}
