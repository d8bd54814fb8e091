// Unit tests of the control store's logic (control_store_state).
#include "actors/control_store.hpp"

#include <string>

#include <doctest/doctest.h>

using troupe::control_store_state;
using troupe::job_spec;

namespace {

control_store_state make_state() {
  control_store_state st;
  st.node.node_id = 77;
  st.node.host = "127.0.0.1";
  st.node.port = 4242;
  return st;
}

job_spec driver(std::int32_t pid, bool embedded) {
  job_spec s;
  s.exe = "/opt/app/driver";
  s.pid = pid;
  s.embedded = embedded;
  return s;
}

} // namespace

TEST_CASE("add_job gives increasing ids and records the driver") {
  auto st = make_state();
  auto a = st.add_job(driver(100, false));
  auto b = st.add_job(driver(200, false));
  auto c = st.add_job(driver(300, true));
  CHECK(a < b);
  CHECK(b < c);
  REQUIRE(st.jobs.size() == 3);
  CHECK(st.jobs.at(b).pid == 200);
  CHECK(st.jobs.at(b).exe == "/opt/app/driver");
  CHECK(st.jobs.at(c).embedded);
  CHECK(st.jobs.at(a).alive);
}

TEST_CASE("job_ended stops the node only for the embedded driver, and only once") {
  auto st = make_state();
  auto plain = st.add_job(driver(100, false));
  auto embedded = st.add_job(driver(200, true));
  CHECK_FALSE(st.job_ended(plain));
  CHECK_FALSE(st.jobs.at(plain).alive);
  CHECK_FALSE(st.job_ended(plain));
  CHECK(st.job_ended(embedded));
  CHECK_FALSE(st.jobs.at(embedded).alive);
  CHECK_FALSE(st.job_ended(embedded)); // a second down message
  CHECK_FALSE(st.job_ended(12345));    // unknown job
}

TEST_CASE("describe_json contains the node's address and every job") {
  auto st = make_state();
  auto json = st.describe_json();
  INFO(json);
  CHECK(json.find("\"address\":\"127.0.0.1:4242\"") != std::string::npos);
  CHECK(json.find("\"id\":77") != std::string::npos);
  CHECK(json.find("\"jobs\":[]") != std::string::npos);

  auto a = st.add_job(driver(100, false));
  auto b = st.add_job(driver(200, true));
  st.job_ended(a);
  json = st.describe_json();
  INFO(json);
  CHECK(json.find("{\"id\":" + std::to_string(a) + ",\"pid\":100,\"alive\":false}") !=
        std::string::npos);
  CHECK(json.find("{\"id\":" + std::to_string(b) + ",\"pid\":200,\"alive\":true}") !=
        std::string::npos);
  CHECK(json.front() == '{');
  CHECK(json.back() == '}');
}
