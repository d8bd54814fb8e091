// Unit tests of the status documents (status.hpp): every struct survives a
// round trip, and the documents as the system actors wrote them by hand
// before parse into the structs and are written back unchanged.
#include "lib/protocol/status.hpp"

#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace {

using namespace troupe;

template <class T>
T round_trip(const T& x) {
  return from_json_text<T>(to_json_text(x));
}

/// Checks that `text` parses into `expected` and is written back as is.
template <class T>
void check_reads_and_writes(const std::string& text, const T& expected) {
  INFO(text);
  auto parsed = from_json_text<T>(text);
  CHECK(parsed == expected);
  CHECK(to_json_text(parsed) == text);
}

control_store_status control_sample() {
  control_store_status x;
  x.node = {1, "127.0.0.1:4242", true, {}};
  x.nodes.push_back({1, "127.0.0.1:4242", true, {{"CPU", 4}}});
  x.nodes.push_back({2, "10.0.0.1:6380", false, {{"CPU", 2}, {"GPU", 0.5}}});
  x.jobs.push_back({77, 100, false});
  x.actors.push_back({"1.2", "counter", "c", "ns", "alive", 2, true, "", 8589934593, 1});
  return x;
}

cluster_scheduler_status cluster_sample() {
  cluster_scheduler_status x;
  x.nodes.push_back({1, true, {{"CPU", 4}}, {{"CPU", 1.5}}, 3, 0.25});
  x.placement_groups.push_back({5, "placed", {{{"CPU", 1}}, {{"GPU", 1}}}, {1, 2}, ""});
  x.infeasible.push_back("needs {CPU: 8}");
  return x;
}

local_scheduler_status local_sample() {
  local_scheduler_status x;
  x.total = {{"CPU", 2}, {"GPU", 1}};
  x.available = {{"CPU", 1}, {"GPU", 0}};
  x.workers = {1, 2, 1, 1};
  x.pending_demands.push_back({{"CPU", 0.5}, {"GPU", 0.5}});
  return x;
}

process_status process_sample() {
  process_status x;
  x.owner = 7;
  x.pid = 1234;
  x.node = 1;
  x.role = "driver";
  x.address = "127.0.0.1:40123";
  x.direct_peers = 3;
  x.tasks.push_back({9, "where", "running", 1, false, 2, "worker_crashed: gone"});
  x.objects.push_back({"7.1", true, "ready", 8388608, 1, "spilled", "/tmp/s/troupe-spill-40-7-1"});
  return x;
}

} // namespace

TEST_CASE("every status struct is read back as it was written") {
  CHECK(round_trip(node_row{3, "h:1", false, {{"CPU", 1.25}, {"memory", 16e9}}}) ==
        node_row{3, "h:1", false, {{"CPU", 1.25}, {"memory", 16e9}}});
  CHECK(round_trip(job_row{4, -1, true}) == job_row{4, -1, true});
  actor_row a{"9.9", "ns::k<int>", "quote \" and \\", "", "dead",
              5,     false,        "line\nbreak"};
  CHECK(round_trip(a) == a);
  CHECK(round_trip(control_sample()) == control_sample());
  node_load load{2, false, {{"CPU", -0.5}}, {}, 4000000000u};
  CHECK(round_trip(load) == load);
  CHECK(round_trip(cluster_sample()) == cluster_sample());
  CHECK(round_trip(worker_counts{5, 6, 7, 8}) == worker_counts{5, 6, 7, 8});
  CHECK(round_trip(local_sample()) == local_sample());
  store_status store{"/troupe-x", 1ull << 40, 12, 3, 4, 5};
  CHECK(round_trip(store) == store);
  task_row t{~0ull, "f", "queued", 0, true};
  CHECK(round_trip(t) == t);
  t.attempt = 3;
  t.last_failure = "worker_crashed: killed by signal 9 (SIGKILL)";
  CHECK(round_trip(t) == t);
  object_row o{"1.1", false, "failed", 0, 0};
  CHECK(round_trip(o) == o);
  CHECK(round_trip(process_sample()) == process_sample());
}

TEST_CASE("the control store's document keeps its keys and their order") {
  check_reads_and_writes(
      R"({"node":{"id":1,"address":"127.0.0.1:4242","alive":true},)"
      R"("nodes":[{"id":1,"address":"127.0.0.1:4242","alive":true,"total":{"CPU":4}},)"
      R"({"id":2,"address":"10.0.0.1:6380","alive":false,"total":{"CPU":2,"GPU":0.5}}],)"
      R"("jobs":[{"id":77,"pid":100,"alive":false}],)"
      R"("actors":[{"id":"1.2","class":"counter","name":"c","namespace":"ns",)"
      R"("state":"alive","node":2,"detached":true,"death":"","worker":8589934593,"restarts":1}]})",
      control_sample());
}

TEST_CASE("the cluster scheduler's document keeps its keys and their order") {
  check_reads_and_writes(
      R"({"nodes":[{"id":1,"alive":true,"total":{"CPU":4},"available":{"CPU":1.5},"queued":3,)"
      R"("report_age":0.25}],)"
      R"("placement_groups":[{"id":5,"state":"placed","bundles":[{"CPU":1},{"GPU":1}],)"
      R"("nodes":[1,2],"why":""}],"infeasible":["needs {CPU: 8}"]})",
      cluster_sample());
}

TEST_CASE("a local scheduler's document keeps its keys and their order") {
  check_reads_and_writes(R"({"total":{"CPU":2,"GPU":1},"available":{"CPU":1,"GPU":0},)"
                         R"("workers":{"idle":1,"leased":2,"starting":1,"blocked":1},)"
                         R"("pending_demands":[{"CPU":0.5,"GPU":0.5}]})",
                         local_sample());
}

TEST_CASE("a store manager's document keeps its keys and their order") {
  check_reads_and_writes(R"({"segment":"/troupe-1","capacity":67108864,"free":1000,)"
                         R"("objects":3,"bytes_in_use":500,"copies":1,"processes":4,"recoveries":2,)"
                         R"("spilled_objects":5,"spilled_bytes":6000,"fallback_objects":1,)"
                         R"("fallback_bytes":900000,"spill_dir":"/tmp/s/spill-troupe-1",)"
                         R"("job_limit":8388608,"jobs":{"3":4096,"12":700},)"
                         R"("pulls":9,"pull_bytes":123456,"pull_failures":1})",
                         store_status{"/troupe-1", 67108864, 1000, 3, 500, 1, 4, 2, 5, 6000, 1,
                                      900000, "/tmp/s/spill-troupe-1", 8388608,
                                      {{3, 4096}, {12, 700}}, 9, 123456, 1});
}

TEST_CASE("a process's document keeps its keys and their order") {
  check_reads_and_writes(
      R"({"owner":7,"pid":1234,"node":1,"role":"driver",)"
      R"("address":"127.0.0.1:40123","direct_peers":3,)"
      R"("tasks":[{"id":9,"name":"where","state":"running","node":1,"actor":false,)"
      R"("attempt":2,"last_failure":"worker_crashed: gone"}],)"
      R"("objects":[{"id":"7.1","owned":true,"state":"ready","size":8388608,"node":1,)"
      R"("where":"spilled","file":"/tmp/s/troupe-spill-40-7-1"}]})",
      process_sample());
}

TEST_CASE("whole resource amounts are written as integers, others as decimals") {
  node_load n{1, true, {{"CPU", 2}, {"GPU", 0.25}, {"memory", 16e9}}, {{"CPU", -1}}, 0};
  CHECK(to_json_text(n) == R"({"id":1,"alive":true,"total":{"CPU":2,"GPU":0.25,)"
                           R"("memory":16000000000},"available":{"CPU":-1},"queued":0,)"
                           R"("report_age":-1.0})");
}

TEST_CASE("amounts in exponent form, as the old writers printed large ones, are read") {
  auto n = from_json_text<node_row>(R"({"id":1,"total":{"memory":1.6e+10}})");
  CHECK(n.total.at("memory") == 16e9);
}

TEST_CASE("missing and null keys read as their defaults") {
  auto x = from_json_text<control_store_status>(R"({"jobs":[{"id":3}],"actors":null})");
  REQUIRE(x.jobs.size() == 1);
  CHECK(x.jobs[0] == job_row{3, 0, true});
  CHECK(x.nodes.empty());
  CHECK(x.actors.empty());
  CHECK(from_json_text<store_status>("{}") == store_status{});
}

TEST_CASE("text that is not a status document is refused") {
  CHECK_THROWS_AS(from_json_text<store_status>("{\"capacity\":"),
                  nlohmann::json::exception);
  CHECK_THROWS_AS(from_json_text<store_status>(R"({"capacity":"many"})"),
                  nlohmann::json::exception);
}

TEST_CASE("bytes that are not UTF-8 are replaced rather than failing the document") {
  actor_row a;
  a.death = "bad \xff byte";
  auto text = to_json_text(a);
  CHECK(text.find("\"death\":\"bad \xef\xbf\xbd byte\"") != std::string::npos);
}
