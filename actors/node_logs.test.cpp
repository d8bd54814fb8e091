#include "actors/node_logs.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

using namespace troupe;
namespace fs = std::filesystem;

namespace {

/// A session folder of its own, removed at the end.
struct session_dir {
  fs::path path = fs::temp_directory_path()
                  / ("troupe-node-logs-" + std::to_string(::getpid()));
  session_dir() { fs::create_directories(path); }
  ~session_dir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream{path / name} << text;
  }
};

} // namespace

TEST_CASE("a session folder's log files are listed by what they hold") {
  session_dir d;
  d.write("node.log", "node started\n");
  d.write("node.1.log", "rotated\n");
  d.write("worker-4294967297-812.out", "hello\n");
  d.write("worker-4294967297-812.err", "");
  d.write("worker-4294967297-812.log", "");
  d.write("job-3.out", "driver output\n");
  d.write("notes.txt", "not a log");
  d.write("worker-x-1.out", "not a worker's");
  fs::create_directory(d.path / "head-state.out");
  auto files = list_log_files(d.path.string());
  REQUIRE(files.size() == 6);
  CHECK(files[0].name == "job-3.out");
  CHECK(files[0].kind == "job");
  CHECK(files[0].job == 3);
  CHECK(files[1].kind == "node");
  CHECK(files[2].name == "node.log");
  CHECK(files[2].size == 13);
  auto& out = files[4];
  CHECK(out.name == "worker-4294967297-812.log");
  auto& w = files[5];
  CHECK(w.name == "worker-4294967297-812.out");
  CHECK(w.kind == "worker");
  CHECK(w.worker == 4294967297ULL);
  CHECK(w.pid == 812);
  CHECK(w.stream == "out");
  CHECK(w.modified > 0);

  std::uint64_t node = 0;
  auto back = log_files_from_json(log_files_json(2, files), node);
  CHECK(node == 2);
  REQUIRE(back.size() == files.size());
  CHECK(back[5].worker == w.worker);
  CHECK(back[5].pid == 812);
  CHECK(back[0].job == 3);
}

TEST_CASE("a log file is read from an offset, and only a listed one") {
  session_dir d;
  d.write("worker-1-2.out", "0123456789");
  auto dir = d.path.string();
  CHECK(read_log_file(dir, "worker-1-2.out", 0, 4) == "0123");
  CHECK(read_log_file(dir, "worker-1-2.out", 6, 100) == "6789");
  CHECK(read_log_file(dir, "worker-1-2.out", 10, 100).empty());
  CHECK(read_log_file(dir, "worker-1-2.out", 99, 100).empty());
  d.write("secret.txt", "no");
  CHECK_THROWS_AS(read_log_file(dir, "secret.txt", 0, 10), std::invalid_argument);
  CHECK_THROWS_AS(read_log_file(dir, "../worker-1-2.out", 0, 10), std::invalid_argument);
  CHECK_THROWS_AS(read_log_file(dir, "worker-9-9.out", 0, 10), std::invalid_argument);
  CHECK_THROWS_WITH(read_log_file("", "node.log", 0, 10),
                    "no log file 'node.log' on this node");
}
