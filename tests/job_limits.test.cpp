// A job's share of a node's object store (--max-job-store-bytes): what its
// driver and its tasks (nested ones too) put there counts for the job; past
// the limit its oldest unread objects are spilled, and what still does not
// fit fails with job_store_limit_error naming the job and the limit. Another
// job's objects do not count against it.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "lib/common/ask.hpp"
#include "lib/core/client.hpp"
#include "lib/protocol/status.hpp"
#include "tests/cluster_fixture.hpp"
#include "tests/own_status.hpp"
#include "tests/process_helpers.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;
using troupe::test::local_cluster;

namespace {

constexpr std::size_t mib = 1024 * 1024;

/// `bytes` bytes, each `tag`.
std::vector<std::uint8_t> blob_of(std::uint64_t bytes, int tag) {
  return std::vector<std::uint8_t>(static_cast<std::size_t>(bytes),
                                   static_cast<std::uint8_t>(tag));
}
TROUPE_REMOTE(blob_of);

/// Submits blob_of(bytes) and gets it: "" when it came back, else the
/// job_store_limit_error's message (a nested task works for the same job).
std::string nested_blob(std::uint64_t bytes) {
  try {
    troupe::get(troupe::task(blob_of).remote(bytes, 1), 60s);
    return "";
  } catch (const troupe::job_store_limit_error& e) {
    return e.what();
  }
}
TROUPE_REMOTE(nested_blob);

troupe::init_options with_job_limit(std::size_t limit) {
  auto o = local_cluster::small();
  o.max_job_store_bytes = limit;
  return o;
}

std::string this_job() {
  return "job " + std::to_string(troupe::detail::client::get().job_id()) + " ";
}

/// The node's store as `troupe status` shows it.
troupe::store_status node_store() {
  auto& c = troupe::detail::client::get();
  return troupe::from_json_text<troupe::store_status>(troupe::detail::ask<std::string>(
    c.system(), c.node().store_manager, 10s, "the store manager did not answer",
    troupe::stats_atom::value));
}

std::size_t objects_where(const std::string& where) {
  std::size_t n = 0;
  for (auto& row : troupe::test::own_status().objects)
    n += row.where == where;
  return n;
}

} // namespace

TEST_CASE("past its share a job's put, task result and nested task's result fail with "
          "job_store_limit, naming the job and the limit") {
  local_cluster cluster{with_job_limit(8 * mib)};
  auto job = this_job();
  try {
    troupe::put(blob_of(12 * mib, 1));
    FAIL("the put passed the job's limit");
  } catch (const troupe::job_store_limit_error& e) {
    INFO(e.what());
    CHECK(std::string{e.what()}.find(job) != std::string::npos);
    CHECK(std::string{e.what()}.find("limit of 8.0 MiB") != std::string::npos);
    CHECK(std::string{e.what()}.find("12.0 MiB more") != std::string::npos);
  }
  auto result = troupe::task(blob_of).remote(12 * mib, 2);
  try {
    troupe::get(result, 60s);
    FAIL("the task's result passed the job's limit");
  } catch (const troupe::job_store_limit_error& e) {
    INFO(e.what());
    CHECK(std::string{e.what()}.find(job) != std::string::npos);
    CHECK(std::string{e.what()}.find("blob_of") != std::string::npos);
  }
  auto nested = troupe::get(troupe::task(nested_blob).remote(12 * mib), 60s);
  INFO(nested);
  CHECK(nested.find(job) != std::string::npos);
  // Within the share all goes on, and the node shows the job's share.
  auto small = troupe::put(blob_of(4 * mib, 3));
  CHECK(troupe::get(small, 30s).size() == 4 * mib);
  auto st = node_store();
  CHECK(st.job_limit == 8 * mib);
  auto id = troupe::detail::client::get().job_id();
  REQUIRE(st.jobs.count(id) == 1);
  CHECK(st.jobs[id] >= 4 * mib);
  CHECK(st.jobs[id] < 8 * mib);
}

TEST_CASE("past its share a job's oldest unread objects are spilled: its puts go on and "
          "every value reads back") {
  local_cluster cluster{with_job_limit(8 * mib)};
  std::vector<troupe::object_ref<std::vector<std::uint8_t>>> refs;
  for (int i = 0; i < 6; ++i) // 12 MiB
    refs.push_back(troupe::put(blob_of(2 * mib, 10 + i)));
  CHECK(objects_where("spilled") >= 2);
  CHECK(node_store().jobs[troupe::detail::client::get().job_id()] <= 8 * mib);
  for (int i = 0; i < 6; ++i) {
    auto v = troupe::get(refs[static_cast<std::size_t>(i)], 30s);
    CHECK(v.size() == 2 * mib);
    CHECK(v.front() == 10 + i);
    CHECK(v.back() == 10 + i);
  }
}

TEST_CASE("one job's objects do not count against another job's share") {
  child_process node{{"TROUPE_ROLE=node", "TROUPE_NUM_CPUS=2",
                      "TROUPE_OBJECT_STORE_BYTES=" + std::to_string(64 * mib),
                      "TROUPE_MAX_JOB_STORE_BYTES=" + std::to_string(16 * mib)}};
  auto port = node.ready_line();
  REQUIRE_MESSAGE(!port.empty(), "the node daemon did not start");
  auto address = "127.0.0.1:" + port;
  // Another driver's job holds 12 MiB of the store, and waits.
  child_process other{{"TROUPE_TEST_SCENARIO=hold_store_bytes", "TROUPE_ADDRESS=" + address,
                       "TROUPE_TEST_BYTES=" + std::to_string(12 * mib)}};
  auto held = other.ready_line(30s);
  REQUIRE(held.rfind("held job ", 0) == 0);
  troupe::init({.address = address});
  struct disconnect {
    ~disconnect() { troupe::shutdown(); } // before the node goes, also on a failure
  } at_end;
  // 12 + 12 MiB pass 16, but each job holds 12: nothing is refused or
  // spilled.
  auto mine = troupe::put(blob_of(12 * mib, 5));
  CHECK(objects_where("memory") == 1);
  CHECK(objects_where("spilled") == 0);
  auto st = node_store();
  CHECK(st.jobs.size() == 2);
  for (auto& [job, bytes] : st.jobs)
    CHECK(bytes >= 12 * mib);
  CHECK(troupe::get(mine, 30s).size() == 12 * mib);
}
