// Metrics: every node serves Prometheus metrics over HTTP (`/metrics`, and
// `/healthz` for probes); a scrape shows the node's parts, the cluster's
// state on the head, and every process's own metrics (troupe's and the
// users'), labelled with pid and node; values move as work is done.
#include <doctest/doctest.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <unistd.h>

#include <httplib.h>
#include <memory>
#include <nlohmann/json.hpp>

#include "lib/common/ask.hpp"
#include "lib/core/client.hpp"
#include "tests/cluster_fixture.hpp"

using namespace std::chrono_literals;
using troupe::test::local_cluster;

namespace {

int square_for_metrics(int x) {
  static troupe::metrics::counter calls{"test_square_calls_total", "squares computed",
                                        {"parity"}};
  calls.inc(1, {{"parity", x % 2 ? "odd" : "even"}});
  return x * x;
}
TROUPE_REMOTE(square_for_metrics);

int metrics_worker_pid() { return static_cast<int>(::getpid()); }
TROUPE_REMOTE(metrics_worker_pid);

} // namespace

/// An async actor: its calls run as coroutines on the actor's thread.
class echo_for_metrics {
public:
  troupe::async<int> echo(int x) { co_return x; }
};
std::unique_ptr<echo_for_metrics> make_echo_for_metrics() {
  return std::make_unique<echo_for_metrics>();
}
TROUPE_REMOTE(make_echo_for_metrics);
TROUPE_REMOTE(&echo_for_metrics::echo);

namespace {

/// `HOST:PORT` of this driver's node's metrics, as its control store says.
std::string metrics_endpoint() {
  auto& c = troupe::detail::client::get();
  auto json = troupe::detail::ask<std::string>(c.system(), c.control_store(), 10s,
                                               "the control store did not answer",
                                               troupe::metrics_atom::value);
  return nlohmann::json::parse(json).at("metrics").get<std::string>();
}

/// GET `path` of the node's HTTP server; returns {status, body}.
std::pair<int, std::string> get(const std::string& path) {
  auto at = metrics_endpoint();
  auto colon = at.rfind(':');
  httplib::Client client{at.substr(0, colon), std::stoi(at.substr(colon + 1))};
  client.set_read_timeout(std::chrono::seconds(20));
  auto res = client.Get(path);
  REQUIRE_MESSAGE(res, "GET " << path << " failed: " << httplib::to_string(res.error()));
  return {res->status, res->body};
}

/// Returns the sum of the samples of `name` whose labels contain `with`
/// (e.g. `name="square_for_metrics"`), or -1 when there is none.
double sum_of(const std::string& scrape, const std::string& name, const std::string& with = "") {
  std::regex line{"^" + name + R"((\{[^}]*\})? ([-+0-9.eE]+)$)"};
  double sum = -1;
  std::istringstream in{scrape};
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_match(l, m, line) && m[1].str().find(with) != std::string::npos)
      sum = (sum < 0 ? 0 : sum) + std::stod(m[2].str());
  }
  return sum;
}

} // namespace

TEST_CASE("a node's /metrics shows its parts, the cluster and its processes' metrics, and "
          "values move") {
  local_cluster cluster;
  auto [status, before] = get("/metrics");
  REQUIRE(status == 200);
  INFO(before);
  CHECK(sum_of(before, "troupe_resources_total", "resource=\"CPU\"") == 2);
  CHECK(sum_of(before, "troupe_cluster_nodes", "state=\"alive\"") == 1);
  CHECK(sum_of(before, "troupe_node_heartbeat_age_seconds", "peer=\"1\"") >= 0);
  CHECK(sum_of(before, "troupe_actors", "state=\"alive\"") == 0);
  CHECK(sum_of(before, "troupe_tasks", "state=\"running\"") == 0);
  auto used_before = sum_of(before, "troupe_object_store_bytes", "kind=\"used\"");

  std::vector<troupe::object_ref<int>> refs;
  for (int i = 0; i < 20; ++i)
    refs.push_back(troupe::task(square_for_metrics).remote(i));
  troupe::get(refs, 30s);
  auto pid = troupe::get(troupe::task(metrics_worker_pid).remote(), 30s);
  auto held = troupe::put(std::vector<std::uint8_t>(4 << 20, 1));
  troupe::metrics::gauge mood{"test_driver_mood", "how the driver feels"};
  mood.set(42);

  auto after = get("/metrics").second;
  INFO(after);
  // Each worker's task durations, by function, with its pid.
  CHECK(sum_of(after, "troupe_task_duration_seconds_count", "name=\"square_for_metrics\"")
        == 20);
  CHECK(sum_of(after, "troupe_task_duration_seconds_count",
               "node=\"1\",pid=\"" + std::to_string(pid) + "\"")
        >= 1);
  // The users' own, from the workers and from the driver.
  CHECK(sum_of(after, "test_square_calls_total", "parity=\"odd\"") == 10);
  CHECK(sum_of(after, "test_driver_mood", "pid=\"" + std::to_string(::getpid()) + "\"") == 42);
  CHECK(sum_of(after, "troupe_object_store_bytes", "kind=\"used\"")
        >= used_before + (4 << 20));
  CHECK(sum_of(after, "troupe_cluster_jobs") == 1);
  // One HELP line per family, as Prometheus requires.
  CHECK(after.find("# HELP troupe_task_duration_seconds")
        == after.rfind("# HELP troupe_task_duration_seconds"));
}

TEST_CASE("a node's /healthz says ok while it serves") {
  local_cluster cluster;
  auto [status, body] = get("/healthz");
  CHECK(status == 200);
  CHECK(body == "ok\n");
  CHECK(get("/nothing-here").first == 404);
}

TEST_CASE("an async actor's calls are timed too") {
  local_cluster cluster;
  auto e = troupe::actor(make_echo_for_metrics).remote();
  for (int i = 0; i < 5; ++i)
    CHECK(troupe::get(e.task(&echo_for_metrics::echo).remote(i), 30s) == i);
  auto scrape = get("/metrics").second;
  INFO(scrape);
  CHECK(sum_of(scrape, "troupe_task_duration_seconds_count", "echo_for_metrics::echo") == 5);
  troupe::kill(e);
}
