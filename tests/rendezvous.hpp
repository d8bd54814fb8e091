#pragma once

// Readiness signals shared by the test process and the tasks it starts (all
// processes of one machine): files that say something happened, polled with a
// deadline, and a gauge that counts how many tasks are inside at once.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <sys/file.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace troupe::test {

/// Polls `ok` every 20 ms until it holds or `limit` passes; returns its last
/// answer.
template <class F>
bool eventually(F&& ok, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (ok())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ok();
}

/// A fresh directory under /tmp, removed with everything in it at scope end.
class temp_dir {
public:
  temp_dir() {
    char name[] = "/tmp/troupe-test-XXXXXX";
    if (::mkdtemp(name) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = name;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Returns the path of `name` inside the directory.
  [[nodiscard]] std::string operator/(const std::string& name) const {
    return (path_ / name).string();
  }
  [[nodiscard]] std::string str() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

/// Writes `text` to `path` atomically (a rename), so that a reader that
/// sees the file sees all of it.
inline void write_file(const std::string& path, const std::string& text) {
  auto tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out{tmp};
    out << text;
  }
  std::filesystem::rename(tmp, path);
}

/// Returns the contents of `path` ("" if it does not exist).
inline std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return std::string{std::istreambuf_iterator<char>(in), {}};
}

/// Waits up to `limit` for `path` to exist.
inline bool file_appears(const std::string& path, std::chrono::milliseconds limit) {
  return eventually([&] { return std::filesystem::exists(path); }, limit);
}

/// Returns how many files in `dir` have a name starting with `prefix`.
inline int count_files(const std::string& dir, const std::string& prefix) {
  int n = 0;
  for (auto& f : std::filesystem::directory_iterator(dir)) {
    auto name = f.path().filename().string();
    n += name.rfind(prefix, 0) == 0 && name.find(".tmp") == std::string::npos;
  }
  return n;
}

/// Counts the tasks inside a section at once, across processes: the file
/// `dir/gauge` holds "inside most", updated under an flock.
class overlap_gauge {
public:
  explicit overlap_gauge(std::string dir) : path_(std::move(dir) + "/gauge") {}

  /// Enters the section; returns how many are inside now.
  int enter() { return update(+1); }
  /// Leaves the section.
  void leave() { update(-1); }
  /// Returns how many are inside now.
  int inside() { return read().first; }
  /// Returns the most that were ever inside at once.
  int most() { return read().second; }

private:
  std::pair<int, int> read() {
    std::pair<int, int> v{0, 0};
    locked([&](std::FILE* f) { v = load(f); });
    return v;
  }
  int update(int by) {
    int now = 0;
    locked([&](std::FILE* f) {
      auto [inside, most] = load(f);
      inside += by;
      most = std::max(most, inside);
      std::rewind(f);
      std::fprintf(f, "%d %d\n", inside, most);
      std::fflush(f);
      now = inside;
    });
    return now;
  }
  static std::pair<int, int> load(std::FILE* f) {
    int inside = 0, most = 0;
    std::rewind(f);
    if (std::fscanf(f, "%d %d", &inside, &most) != 2)
      inside = most = 0;
    return {inside, most};
  }
  template <class F>
  void locked(F&& body) {
    auto* f = std::fopen(path_.c_str(), "a+");
    if (!f)
      throw std::runtime_error("cannot open " + path_);
    std::fclose(f);
    f = std::fopen(path_.c_str(), "r+");
    if (!f)
      throw std::runtime_error("cannot open " + path_);
    ::flock(::fileno(f), LOCK_EX);
    body(f);
    ::flock(::fileno(f), LOCK_UN);
    std::fclose(f);
  }

  std::string path_;
};

} // namespace troupe::test
