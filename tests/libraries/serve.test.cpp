// troupe::serve on a real local cluster: HTTP requests through the ingress
// actor to replica actors, replicas killed with SIGKILL, updates under load,
// autoscaling.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <algorithm>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <httplib.h>

#include "tests/cluster_fixture.hpp"
#include "tests/rendezvous.hpp"
#include "troupe/serve.hpp"

using namespace std::chrono_literals;
using troupe::test::eventually;
using troupe::test::local_cluster;
using json = troupe::serve::json;
namespace serve = troupe::serve;

namespace {

/// Answers with its version and process id; {"fail": true} throws, and
/// {"sleep_ms": N} takes N ms.
class echo_model {
public:
  explicit echo_model(json args)
      : version_(args.is_object() ? args.value("version", "v1") : "v1") {
    if (args.is_object() && args.value("broken", false))
      throw std::runtime_error("cannot load the model");
  }
  json call(json request) {
    if (request.is_object() && request.value("fail", false))
      throw std::invalid_argument("bad request: fail");
    if (request.is_object() && request.contains("sleep_ms"))
      std::this_thread::sleep_for(std::chrono::milliseconds(request["sleep_ms"].get<int>()));
    return {{"version", version_}, {"pid", ::getpid()}, {"echo", request}};
  }

private:
  std::string version_;
};
std::unique_ptr<echo_model> make_echo_model(json args) {
  return std::make_unique<echo_model>(std::move(args));
}
TROUPE_REMOTE(make_echo_model);
TROUPE_REMOTE(&echo_model::call);

serve::deployment echo(serve::deployment_options o) {
  if (o.route.empty())
    o.route = "/echo";
  return {"echo", make_echo_model, &echo_model::call, std::move(o)};
}

/// Sends requests from threads of its own until stopped, counting answers.
class load {
public:
  load(int port, int threads, json body) {
    for (int t = 0; t < threads; ++t)
      threads_.emplace_back([this, port, body] {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(60, 0);
        while (!stop_) {
          auto r = c.Post("/echo", body.dump(), "application/json");
          if (!r || r->status != 200) {
            ++failed_;
            continue;
          }
          auto v = json::parse(r->body)["version"].get<std::string>();
          std::lock_guard lk(mtx_);
          versions_.push_back(v);
        }
      });
  }
  ~load() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }
  int failed() const { return failed_; }
  std::size_t answered() {
    std::lock_guard lk(mtx_);
    return versions_.size();
  }
  std::vector<std::string> versions() {
    std::lock_guard lk(mtx_);
    return versions_;
  }

private:
  std::atomic<bool> stop_{false};
  std::atomic<int> failed_{0};
  std::mutex mtx_;
  std::vector<std::string> versions_;
  std::vector<std::thread> threads_;
};

const serve::deployment_status& status_of(const std::vector<serve::deployment_status>& all,
                                          const std::string& name) {
  for (auto& s : all)
    if (s.name == name)
      return s;
  throw std::logic_error("no deployment " + name);
}

} // namespace

TEST_CASE("requests reach the replicas over HTTP: JSON in and out, errors named") {
  local_cluster cluster;
  auto s = serve::start({.port = 0});
  s.deploy(echo({.num_replicas = 2}));
  httplib::Client c("127.0.0.1", s.port());
  std::set<int> pids;
  for (int i = 0; i < 20; ++i) {
    auto r = c.Post("/echo/sub", json{{"x", i}}.dump(), "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto j = json::parse(r->body);
    CHECK(j["echo"]["x"] == i);
    CHECK(j["version"] == "v1");
    pids.insert(j["pid"].get<int>());
  }
  CHECK(pids.size() == 2); // both replicas took requests
  auto r = c.Get("/-/routes");
  REQUIRE(r);
  CHECK(json::parse(r->body)["/echo"] == "echo");
  r = c.Post("/nowhere", "{}", "application/json");
  REQUIRE(r);
  CHECK(r->status == 404);
  CHECK(r->body.find("/nowhere") != std::string::npos);
  r = c.Post("/echo", "{not json", "application/json");
  REQUIRE(r);
  CHECK(r->status == 400);
  r = c.Post("/echo", R"({"fail": true})", "application/json");
  REQUIRE(r);
  CHECK(r->status == 500);
  CHECK(json::parse(r->body)["error"] == "bad request: fail");
  CHECK(json::parse(r->body)["type"] == "std::invalid_argument");
  auto st = status_of(s.status(), "echo");
  CHECK(st.replicas == 2);
  CHECK(st.requests == 21); // the 404 and the 400 reached no deployment
  CHECK(st.failed == 1);
  s.shutdown();
}

TEST_CASE("a replica killed under load is replaced and its requests sent again") {
  local_cluster cluster;
  auto s = serve::start({.port = 0});
  s.deploy(echo({.num_replicas = 2}));
  auto before = s.replica_pids("echo");
  REQUIRE(before.size() == 2);
  load l(s.port(), 4, {{"sleep_ms", 5}});
  REQUIRE(eventually([&] { return l.answered() > 20; }, 20s));
  REQUIRE(::kill(before[0], SIGKILL) == 0);
  auto seen = l.answered();
  CHECK(eventually([&] { return l.answered() > seen + 50; }, 20s)); // it goes on
  CHECK(eventually([&] {
    auto pids = s.replica_pids("echo");
    return pids.size() == 2 && std::find(pids.begin(), pids.end(), before[0]) == pids.end();
  }, 20s));
  l.stop();
  CHECK(l.failed() == 0);
  s.shutdown();
}

TEST_CASE("a new version takes over under load without a failed request") {
  local_cluster cluster;
  auto s = serve::start({.port = 0});
  s.deploy(echo({.num_replicas = 2, .init_args = {{"version", "v1"}}}));
  auto old_pids = s.replica_pids("echo");
  load l(s.port(), 3, {{"sleep_ms", 2}});
  REQUIRE(eventually([&] { return l.answered() > 20; }, 20s));
  s.deploy(echo({.version = "2", .num_replicas = 2, .init_args = {{"version", "v2"}}}));
  auto at_switch = l.answered();
  REQUIRE(eventually([&] { return l.answered() > at_switch + 30; }, 20s));
  l.stop();
  CHECK(l.failed() == 0);
  auto versions = l.versions();
  CHECK(versions.front() == "v1");
  // Once deploy returned, only the new version answered (a request in
  // flight at the switch may still come back from the old one).
  for (std::size_t i = at_switch + 3; i < versions.size(); ++i)
    CHECK(versions[i] == "v2");
  auto st = status_of(s.status(), "echo");
  CHECK(st.version == "2");
  CHECK(st.replicas == 2);
  CHECK(st.draining == 0);
  for (auto pid : old_pids) // the old replicas' processes are gone
    CHECK(eventually([&] { return ::kill(pid, 0) != 0; }, 20s));
  // New init_args under the same version replace the replicas too; a new
  // count alone scales them.
  auto v2_pids = s.replica_pids("echo");
  s.deploy(echo({.version = "2", .num_replicas = 2, .init_args = {{"version", "v3"}}}));
  httplib::Client c("127.0.0.1", s.port());
  auto r = c.Post("/echo", "{}", "application/json");
  REQUIRE(r);
  CHECK(json::parse(r->body)["version"] == "v3");
  auto v3_pids = s.replica_pids("echo");
  s.deploy(echo({.version = "2", .num_replicas = 3, .init_args = {{"version", "v3"}}}));
  auto scaled = s.replica_pids("echo");
  CHECK(scaled.size() == 3);
  for (auto pid : v3_pids) {
    CHECK(std::find(v2_pids.begin(), v2_pids.end(), pid) == v2_pids.end());
    CHECK(std::find(scaled.begin(), scaled.end(), pid) != scaled.end()); // kept
  }
  s.shutdown();
}

TEST_CASE("replicas scale up with the queue and down after the delay") {
  local_cluster cluster;
  auto s = serve::start({.port = 0});
  s.deploy(echo({.autoscaling = true, .min_replicas = 1, .max_replicas = 3,
                 .target_ongoing_requests = 1, .downscale_delay_s = 0.5}));
  CHECK(status_of(s.status(), "echo").replicas == 1);
  {
    load l(s.port(), 3, {{"sleep_ms", 100}});
    CHECK(eventually([&] { return status_of(s.status(), "echo").replicas == 3; }, 20s));
    l.stop();
    CHECK(l.failed() == 0);
  }
  CHECK(eventually([&] { return status_of(s.status(), "echo").replicas == 1; }, 20s));
  s.shutdown();
}

TEST_CASE("a deployment whose replicas cannot start is refused with the reason") {
  local_cluster cluster;
  auto s = serve::start({.port = 0});
  CHECK_THROWS_WITH_AS(s.deploy(echo({.init_args = {{"broken", true}}})),
                       doctest::Contains("cannot load the model"), troupe::error);
  CHECK_THROWS_AS(echo({.route = "no-slash"}), std::invalid_argument);
  s.deploy(echo({})); // the same name, now a good one
  httplib::Client c("127.0.0.1", s.port());
  auto r = c.Post("/echo", "{}", "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  s.shutdown();
}
