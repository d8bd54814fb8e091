// Worker output: what tasks and actors write to stdout and stderr reaches
// their driver's terminal, prefixed `(name pid=P, node=N)`, before their
// result does, and stays in the worker's files `worker-ID-PID.out|err`,
// which every node's control store lists and serves (`troupe logs`).
// `log_to_driver = false` keeps it in the files only.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <sstream>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>

#include "actors/node_logs.hpp"
#include "lib/common/ask.hpp"
#include "lib/common/process.hpp"
#include "lib/core/cancellation.hpp"
#include "lib/core/client.hpp"
#include "tests/cluster_fixture.hpp"
#include "tests/process_helpers.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;

namespace {

/// Sends what this process writes to fd `fd` into a file until it goes.
class captured_fd {
public:
  explicit captured_fd(int fd) : fd_(fd) {
    flush();
    saved_ = ::dup(fd);
    char name[] = "/tmp/troupe-captured-XXXXXX";
    file_ = ::mkstemp(name);
    path_ = name;
    ::dup2(file_, fd);
  }
  ~captured_fd() {
    flush();
    ::dup2(saved_, fd_);
    ::close(saved_);
    ::close(file_);
    ::unlink(path_.c_str());
  }
  captured_fd(const captured_fd&) = delete;
  captured_fd& operator=(const captured_fd&) = delete;

  /// What was written so far.
  std::string text() const {
    flush();
    std::ifstream in{path_};
    std::stringstream all;
    all << in.rdbuf();
    return all.str();
  }

private:
  static void flush() {
    std::fflush(stdout);
    std::fflush(stderr);
  }
  int fd_;
  int saved_ = -1;
  int file_ = -1;
  std::string path_;
};

/// Writes `word` to stdout and `err <word>` to stderr; returns its pid.
int say(std::string word) {
  std::cout << word << std::endl;
  std::cerr << "err " << word << "\n";
  return static_cast<int>(::getpid());
}
TROUPE_REMOTE(say);

} // namespace

/// An actor that talks (outside the anonymous namespace: its class is its
/// prefix).
class parrot {
public:
  int repeat(std::string word) {
    std::printf("parrot says %s\n", word.c_str());
    return static_cast<int>(::getpid());
  }
};
std::unique_ptr<parrot> make_parrot() { return std::make_unique<parrot>(); }
TROUPE_REMOTE(make_parrot);
TROUPE_REMOTE(&parrot::repeat);

namespace {

/// Writes `word` and returns its own task id, as `troupe list tasks` shows it.
std::uint64_t say_with_id(std::string word) {
  std::cout << "task says " << word << std::endl;
  return troupe::detail::current_task().task_id;
}
TROUPE_REMOTE(say_with_id);

/// Runs the troupe CLI (TROUPE_CLI, set by meson) with `args` against the
/// cluster of this driver; returns what it printed on stdout and stderr.
std::string cli(const std::string& args) {
  auto* exe = std::getenv("TROUPE_CLI");
  REQUIRE_MESSAGE(exe, "TROUPE_CLI names the troupe executable (meson test sets it)");
  auto& node = troupe::detail::client::get().node();
  auto cmd = std::string{exe} + " " + args + " --address " + node.host + ":"
             + std::to_string(node.port) + " 2>&1";
  std::string out;
  if (auto* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (auto n = std::fread(buf, 1, sizeof(buf), p))
      out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

/// Returns whether `path` holds `text` within `timeout`.
bool file_shows(const std::string& path, const std::string& text,
                std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in{path};
    std::stringstream all;
    all << in.rdbuf();
    if (all.str().find(text) != std::string::npos)
      return true;
    std::this_thread::sleep_for(50ms); // polled with a deadline
  }
  return false;
}

/// A word no other run of this test writes.
std::string unique_word(const char* what) {
  return std::string{what} + "-" + std::to_string(::getpid()) + "-"
         + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

/// Returns the contents of the file of worker `pid` on this node that ends
/// with `ext` (".out" or ".err"), read through its control store.
std::string worker_file(int pid, const std::string& ext) {
  auto& c = troupe::detail::client::get();
  auto json = troupe::detail::ask<std::string>(c.system(), c.control_store(), 10s,
                                               "the control store did not list its logs",
                                               troupe::log_atom::value);
  std::uint64_t node = 0;
  for (auto& f : troupe::log_files_from_json(json, node))
    if (f.kind == "worker" && f.pid == pid && "." + f.stream == ext)
      return troupe::detail::ask<std::string>(c.system(), c.control_store(), 10s,
                                              "the control store did not read a log",
                                              troupe::log_atom::value, f.name,
                                              std::uint64_t{0}, std::uint64_t{1} << 20);
  return "(no file)";
}

} // namespace

TEST_CASE("a task's stdout and stderr reach the driver with its prefix before its result, "
          "and stay in its worker's files") {
  local_cluster cluster;
  auto word = unique_word("hello");
  int pid = 0;
  std::string out, err;
  {
    captured_fd cout_capture{STDOUT_FILENO};
    captured_fd cerr_capture{STDERR_FILENO};
    pid = troupe::get(troupe::task(say).remote(word), 30s);
    // No waiting: the lines came before the result.
    out = cout_capture.text();
    err = cerr_capture.text();
  }
  auto prefix = "(say pid=" + std::to_string(pid) + ", node=1) ";
  CHECK(out.find(prefix + word + "\n") != std::string::npos);
  CHECK(out.find("err " + word) == std::string::npos);
  CHECK(err.find(prefix + "err " + word + "\n") != std::string::npos);

  auto job = troupe::detail::client::get().job_id();
  auto file = worker_file(pid, ".out");
  CHECK(file.find(":task: job=" + std::to_string(job)) != std::string::npos);
  CHECK(file.find("name=say\n" + word + "\n") != std::string::npos);
  CHECK(worker_file(pid, ".err").find("err " + word + "\n") != std::string::npos);
}

TEST_CASE("an actor's output is prefixed with its class") {
  local_cluster cluster;
  auto word = unique_word("polly");
  auto p = troupe::actor(make_parrot).remote();
  int pid = 0;
  std::string out;
  {
    captured_fd capture{STDOUT_FILENO};
    pid = troupe::get(p.task(&parrot::repeat).remote(word), 30s);
    out = capture.text();
  }
  INFO(out);
  CHECK(out.find("(parrot pid=" + std::to_string(pid) + ", node=1) parrot says " + word)
        != std::string::npos);
  troupe::kill(p);
}

TEST_CASE("log_to_driver = false keeps a job's output in the files only") {
  auto o = local_cluster::small();
  o.log_to_driver = false;
  local_cluster cluster{o};
  auto word = unique_word("quiet");
  int pid = 0;
  std::string out;
  {
    captured_fd capture{STDOUT_FILENO};
    pid = troupe::get(troupe::task(say).remote(word), 30s);
    out = capture.text();
  }
  CHECK(out.find(word) == std::string::npos);
  CHECK(worker_file(pid, ".out").find(word + "\n") != std::string::npos);
}

TEST_CASE("a node refuses to serve a file that is not one of its logs") {
  local_cluster cluster;
  auto& c = troupe::detail::client::get();
  auto r = troupe::detail::try_ask<std::string>(c.system(), c.control_store(), 10s,
                                                troupe::log_atom::value,
                                                std::string{"../../etc/passwd"},
                                                std::uint64_t{0}, std::uint64_t{100});
  REQUIRE_FALSE(r);
  CHECK(c.system().render(r.error()).find("no log file '../../etc/passwd'")
        != std::string::npos);
}

TEST_CASE("troupe logs lists the nodes' files and prints a file, an actor's, a task's, "
          "the tail, and follows") {
  troupe::init_options o = local_cluster::small();
  o.log_to_driver = false; // the test reads the files only
  local_cluster cluster{o};
  auto word = unique_word("cli");
  auto id = troupe::get(troupe::task(say_with_id).remote(word), 30s);
  auto list = cli("logs");
  INFO(list);
  CHECK(list.find("NODE") != std::string::npos);
  CHECK(list.find("node.log") != std::string::npos);
  CHECK(list.find(".out") != std::string::npos);

  auto task_out = cli("logs --task " + std::to_string(id));
  CHECK(task_out.find("task says " + word + "\n") != std::string::npos);
  CHECK(task_out.find(":task:") == std::string::npos);
  CHECK(cli("logs --task 987654321").find("no worker file has output of task 987654321")
        != std::string::npos);

  troupe::actor_options named;
  named.name = unique_word("parrot");
  auto p = troupe::actor(make_parrot, named).remote();
  troupe::get(p.task(&parrot::repeat).remote(word + "-1"), 30s);
  troupe::get(p.task(&parrot::repeat).remote(word + "-2"), 30s);
  auto actor_out = cli("logs --actor " + named.name);
  CHECK(actor_out.find("parrot says " + word + "-1\nparrot says " + word + "-2\n")
        != std::string::npos);
  auto tail = cli("logs --tail 1 --actor " + named.name);
  CHECK(tail.find(word + "-1") == std::string::npos);
  CHECK(tail.find("parrot says " + word + "-2") != std::string::npos);
  CHECK(cli("logs --actor nobody-here").find("no actor named 'nobody-here'")
        != std::string::npos);
  CHECK(cli("logs no-such.out").find("no log file 'no-such.out'") != std::string::npos);

  // --follow prints what the actor writes after it started.
  auto& node = troupe::detail::client::get().node();
  auto follow_file = "/tmp/troupe-follow-" + std::to_string(::getpid());
  auto follower = troupe::detail::spawn_process(
    "/bin/sh",
    {"-c", "exec \"$0\" logs --follow --actor \"$1\" --address \"$2\" > \"$3\" 2>&1",
     std::getenv("TROUPE_CLI"), named.name, node.host + ":" + std::to_string(node.port),
     follow_file},
    {});
  CHECK(file_shows(follow_file, word + "-2", 20s));
  troupe::get(p.task(&parrot::repeat).remote(word + "-3"), 30s);
  CHECK(file_shows(follow_file, "parrot says " + word + "-3", 20s));
  ::kill(follower, SIGTERM);
  troupe::detail::wait_child(follower, 5000);
  std::filesystem::remove(follow_file);
  troupe::kill(p);
}
