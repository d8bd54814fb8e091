#include "lib/core/worker_output.hpp"

#include <doctest/doctest.h>

using namespace troupe;
using namespace troupe::detail;

namespace {

output_source task_of(std::uint64_t job, std::uint64_t task, std::string name) {
  return {job, task, output_tag(name, false), name};
}

} // namespace

TEST_CASE("a task's lines go to its job, whole, after a marker in the file") {
  output_lines lines;
  std::string file;
  auto f = task_of(3, 17, "f");
  lines.take(false, "hello\nwor", f, file);
  CHECK(file == ":task: job=3 task=17 name=f\nhello\n");
  CHECK(lines.has_partial());
  lines.take(false, "ld\n", f, file);
  CHECK(file == ":task: job=3 task=17 name=f\nhello\nworld\n");
  auto pending = lines.take_pending();
  REQUIRE(pending.size() == 1);
  REQUIRE(pending[3].size() == 2);
  CHECK(pending[3][0].text == "hello");
  CHECK(pending[3][1].text == "world");
  CHECK(pending[3][1].tag == "f");
  CHECK_FALSE(pending[3][1].err);
  CHECK_FALSE(lines.has_pending());
}

TEST_CASE("a marker is written only when another task writes, per stream") {
  output_lines lines;
  std::string out, err;
  lines.take(false, "a\n", task_of(1, 1, "f"), out);
  lines.take(false, "b\n", task_of(1, 1, "f"), out);
  lines.take(false, "c\n", task_of(2, 5, "g h"), out);
  lines.take(true, "oops\n", task_of(2, 5, "g h"), err);
  CHECK(out == ":task: job=1 task=1 name=f\na\nb\n:task: job=2 task=5 name=g h\nc\n");
  CHECK(err == ":task: job=2 task=5 name=g h\noops\n");
  auto pending = lines.take_pending();
  CHECK(pending[1].size() == 2);
  REQUIRE(pending[2].size() == 2);
  CHECK(pending[2][1].err);
}

TEST_CASE("output before any task stays in the file, unmarked and sent nowhere") {
  output_lines lines;
  std::string file;
  lines.take(true, "worker warning\n", output_source{}, file);
  CHECK(file == "worker warning\n");
  CHECK_FALSE(lines.has_pending());
}

TEST_CASE("a partial line is ended on request, and an endless one is cut") {
  output_lines lines;
  std::string out, err;
  auto f = task_of(1, 2, "f");
  lines.take(false, "progress...", f, out);
  lines.take(true, "half", f, err);
  CHECK(lines.take_pending().empty());
  lines.end_partial_lines(f, out, err);
  CHECK_FALSE(lines.has_partial());
  auto pending = lines.take_pending();
  REQUIRE(pending[1].size() == 2);
  CHECK(pending[1][0].text == "progress...");
  CHECK(pending[1][1].text == "half");

  std::string big(output_lines::max_line + 10, 'x');
  out.clear();
  lines.take(false, big, f, out);
  pending = lines.take_pending();
  REQUIRE(pending[1].size() == 1);
  CHECK(pending[1][0].text.size() == output_lines::max_line);
  CHECK(lines.has_partial());
}

TEST_CASE("markers parse back; other lines are not markers") {
  output_source src;
  auto f = task_of(12, 345, "&counter::add");
  auto m = output_marker(f);
  REQUIRE(parse_output_marker(m.substr(0, m.size() - 1), src));
  CHECK(src.job == 12);
  CHECK(src.task == 345);
  CHECK(src.name == "&counter::add");
  CHECK_FALSE(parse_output_marker("hello", src));
  CHECK_FALSE(parse_output_marker(":task: job=x task=1 name=f", src));
  CHECK_FALSE(parse_output_marker(":task: job=1 name=f", src));
}

TEST_CASE("the prefix names a function, or an actor method's class") {
  CHECK(output_tag("square", false) == "square");
  CHECK(output_tag("counter: counter::increment", true) == "counter");
  CHECK(output_tag("ledger-3: bank::deposit", true) == "ledger-3");
  CHECK(output_tag("&counter::increment", true) == "counter");
  CHECK(output_tag("&ns::counter::increment", true) == "ns::counter");
  CHECK(output_tag("make_counter", true) == "make_counter");
}

TEST_CASE("a driver prints each line with Ray's prefix, stdout and stderr apart") {
  log_batch b{2, 4242, {{false, "f", "hi"}, {true, "counter", "bad"}}};
  std::string out, err;
  format_log_batch(b, false, out, err);
  CHECK(out == "(f pid=4242, node=2) hi\n");
  CHECK(err == "(counter pid=4242, node=2) bad\n");
  out.clear();
  err.clear();
  format_log_batch(b, true, out, err);
  CHECK(out == "\033[36m(f pid=4242, node=2)\033[0m hi\n");
}
