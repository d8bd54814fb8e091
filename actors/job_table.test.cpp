#include "actors/job_table.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <stdexcept>

using namespace troupe;

namespace {

/// A wait status as waitpid reports an exit with `code`, or a death by `sig`.
int exit_status(int code) { return code << 8; }
int signal_status(int sig) { return sig; }

job_submission sub(std::string exe, std::vector<std::string> args = {}) {
  job_submission s;
  s.exe = std::move(exe);
  s.args = std::move(args);
  s.hash = std::string(64, 'a');
  return s;
}

} // namespace

TEST_CASE("a submitted job is PENDING, with its own id, entrypoint and output file") {
  job_table t;
  auto& a = t.submit(sub("/bin/prog", {"--n", "3"}), 10);
  CHECK(a.id == 1);
  CHECK(a.state == "PENDING");
  CHECK(a.entrypoint == "/bin/prog --n 3");
  CHECK(a.output == "job-1.out");
  CHECK(a.submitted == 10);
  CHECK(t.submit(sub("/bin/prog"), 11).id == 2);
  CHECK(t.list().rows.size() == 2);
}

TEST_CASE("an entrypoint quotes the words a shell would split") {
  CHECK(entrypoint_of(sub("/bin/sh", {"-c", "echo hi; exit 3"}))
        == "/bin/sh -c 'echo hi; exit 3'");
  CHECK(entrypoint_of(sub("./a b", {"it's", ""})) == "'./a b' 'it'\\''s' ''");
}

TEST_CASE("a job's exit decides its state: status 0 succeeded, others and signals failed") {
  job_table t;
  auto ok = t.submit(sub("a"), 1).id;
  auto bad = t.submit(sub("b"), 1).id;
  auto crashed = t.submit(sub("c"), 1).id;
  REQUIRE(t.started(ok, 100, 2));
  REQUIRE(t.started(bad, 101, 2));
  REQUIRE(t.started(crashed, 102, 2));
  CHECK(t.get(ok).state == "RUNNING");
  CHECK(t.get(ok).started == 2);
  CHECK(t.running().size() == 3);

  CHECK(t.exited(100, exit_status(0), 5) == ok);
  CHECK(t.get(ok).state == "SUCCEEDED");
  CHECK(t.get(ok).exit_code == 0);
  CHECK(t.get(ok).ended == 5);

  CHECK(t.exited(101, exit_status(3), 6) == bad);
  CHECK(t.get(bad).state == "FAILED");
  CHECK(t.get(bad).exit_code == 3);
  CHECK(t.get(bad).message == "exited with status 3");

  CHECK(t.exited(102, signal_status(SIGSEGV), 7) == crashed);
  CHECK(t.get(crashed).state == "FAILED");
  CHECK(t.get(crashed).exit_code == -1);
  CHECK(t.get(crashed).message.find("SIGSEGV") != std::string::npos);
  CHECK(t.running().empty());
}

TEST_CASE("the exit of a process that ran no job (a worker of the head) is not a job's") {
  job_table t;
  auto id = t.submit(sub("a"), 1).id;
  REQUIRE(t.started(id, 100, 2));
  CHECK_FALSE(t.exited(555, exit_status(1), 3).has_value());
  CHECK(t.get(id).state == "RUNNING");
}

TEST_CASE("stop: a PENDING job is cancelled, a RUNNING one signalled, an ended one left") {
  job_table t;
  auto pending = t.submit(sub("a"), 1).id;
  auto running = t.submit(sub("b"), 1).id;
  REQUIRE(t.started(running, 200, 2));

  CHECK(t.stop(pending, 3) == job_table::stop_action::cancel);
  CHECK(t.get(pending).state == "STOPPED");
  // Its program arrived after the stop: it must not run.
  CHECK_FALSE(t.started(pending, 201, 4));
  CHECK(t.get(pending).state == "STOPPED");
  CHECK(t.exited(201, signal_status(SIGKILL), 4) == pending);
  CHECK(t.get(pending).state == "STOPPED");

  CHECK(t.stop(running, 5) == job_table::stop_action::signal);
  CHECK(t.get(running).state == "RUNNING"); // until it exits
  CHECK(t.exited(200, signal_status(SIGTERM), 6) == running);
  CHECK(t.get(running).state == "STOPPED");
  CHECK(t.get(running).message.find("SIGTERM") != std::string::npos);
  CHECK(t.stop(running, 7) == job_table::stop_action::none);

  // A job that exits 0 after its stop was asked is still STOPPED.
  auto graceful = t.submit(sub("c"), 8).id;
  REQUIRE(t.started(graceful, 300, 8));
  t.stop(graceful, 9);
  t.exited(300, exit_status(0), 10);
  CHECK(t.get(graceful).state == "STOPPED");
}

TEST_CASE("a job that cannot start fails with why; an unknown id is an error naming it") {
  job_table t;
  auto id = t.submit(sub("a"), 1).id;
  t.start_failed(id, "cannot fetch a from the submitter: gone", 2);
  CHECK(t.get(id).state == "FAILED");
  CHECK(t.get(id).message == "cannot fetch a from the submitter: gone");
  CHECK(t.find(9) == nullptr);
  CHECK_THROWS_WITH_AS(t.get(9), doctest::Contains("no job 9"), std::invalid_argument);
  CHECK_THROWS_AS(t.stop(9, 1), std::invalid_argument);
  CHECK(job_ended("SUCCEEDED"));
  CHECK(job_ended("STOPPED"));
  CHECK_FALSE(job_ended("RUNNING"));
}
