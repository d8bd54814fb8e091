#pragma once

// Forked processes for the store's tests: a segment name of the test's own,
// children that run a body and exit without running doctest's state again.

#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <iterator>
#include <string>

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/allocator.hpp"

namespace troupe::store::test {

/// A segment name of its own per test process, removed even when a check
/// fails.
struct segment_guard {
  std::string name;
  explicit segment_guard(const std::string& prefix)
    : name(prefix + std::to_string(::getpid())) {}
  ~segment_guard() { shm_allocator::remove(name); }
};

/// A folder of the test process's own (spill files, fallback files),
/// removed with what it holds.
struct temp_folder {
  std::string path;
  explicit temp_folder(const std::string& prefix)
    : path((std::filesystem::temp_directory_path()
            / (prefix + std::to_string(::getpid())))
             .string()) {
    std::filesystem::create_directories(path);
  }
  ~temp_folder() { std::filesystem::remove_all(path); }
  std::size_t files() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(path),
                                                  std::filesystem::directory_iterator{}));
  }
};

/// Runs `body` in a forked child, which exits with its result (99 on an
/// exception, whose message it prints). The child ends with _exit, without
/// destructors: doctest's state must not run twice.
inline pid_t spawn(const std::function<int()>& body) {
  std::fflush(nullptr); // or the child may print buffered output again
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int rc = 99;
    try {
      rc = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    } catch (...) {
    }
    ::_exit(rc);
  }
  return pid;
}

/// Waits for `pid`; returns its exit code, or 128 + the signal that ended it.
inline int wait_status(pid_t pid) {
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace troupe::store::test
