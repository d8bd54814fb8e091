#include "tools/bench_spill.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include <troupe/troupe.hpp>

#include "tools/bench_support.hpp"

namespace troupe::tools {

namespace {

constexpr std::size_t mib = 1024 * 1024;
constexpr std::size_t store_bytes = 256 * mib;
constexpr std::size_t object_bytes = 64 * mib;
constexpr std::size_t doubles = object_bytes / sizeof(double);

/// A folder of the benchmark's own for the spill files, removed after (the
/// store removes the folder it makes inside at shutdown).
struct spill_folder {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("troupe_bench_spill_" + std::to_string(::getpid()));
  spill_folder() {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~spill_folder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  spill_folder(const spill_folder&) = delete;
  spill_folder& operator=(const spill_folder&) = delete;

  /// Returns how many files the store has written under the folder.
  std::size_t files() const {
    std::size_t n = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(path))
      n += e.is_regular_file() ? 1 : 0;
    return n;
  }
};

/// One round on the cluster `init` started: the puts, then the gets.
void spill_round(const bench_config& cfg, const spill_folder& folder,
                 bench_samples& out) {
  auto objects = cfg.pick<std::size_t>(32, 8);
  auto bytes = static_cast<double>(objects * object_bytes);
  // Each array holds its own index: a get of the wrong object fails.
  std::vector<std::vector<double>> values;
  for (std::size_t i = 0; i < objects; ++i)
    values.emplace_back(doubles, static_cast<double>(i));
  std::vector<troupe::object_ref<std::vector<double>>> refs;
  refs.reserve(objects);
  auto t0 = bench::clock_type::now();
  for (auto& v : values)
    refs.push_back(troupe::put(v));
  auto put_s = bench::seconds_since(t0);
  values = {};
  // At most 3 arrays fit in the store: a round that spilled less measured
  // something else.
  bench::check(folder.files() + 4 >= objects, "the store spilled the arrays to disk");
  t0 = bench::clock_type::now();
  // Views, as Ray's numpy arrays are: the read back from disk, no copy out
  // of the store (`get` would add a 64 MB copy per object). Each view ends
  // before the next read, so the store can make room again.
  for (std::size_t i = 0; i < objects; ++i) {
    auto v = troupe::get_view(refs[i]);
    bench::check(v.size() == doubles && v[doubles / 2] == static_cast<double>(i),
                 "an array read back from disk");
  }
  auto get_s = bench::seconds_since(t0);
  out["spill_gigabytes"].push_back(bytes / put_s / 1e9);
  out["restore_gigabytes"].push_back(bytes / get_s / 1e9);
}

} // namespace

void measure_spill(const bench_config& cfg, bench_samples& out) {
  for (int r = 0; r < cfg.pick(3, 1); ++r) {
    spill_folder folder;
    troupe::init_options options;
    options.object_store_memory = store_bytes;
    options.spill_dir = folder.path.string();
    troupe::init(options);
    try {
      spill_round(cfg, folder, out);
    } catch (...) {
      troupe::shutdown();
      throw;
    }
    troupe::shutdown();
  }
}

} // namespace troupe::tools
