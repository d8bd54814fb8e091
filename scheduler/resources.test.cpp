// Unit tests of resource arithmetic and parsing.
#include "scheduler/resources.hpp"

#include <stdexcept>
#include <string>

#include <doctest/doctest.h>

using troupe::resource_map;
using namespace troupe::sched;

namespace {

/// Returns the message of the invalid_argument that parsing `text` throws.
std::string parse_error(const std::string& text) {
  try {
    parse_resources(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("parse_resources reads name=amount items") {
  auto rs = parse_resources("CPU=4,GPU=0.5,memory=1e9");
  CHECK(rs == resource_map{{"CPU", 4}, {"GPU", 0.5}, {"memory", 1e9}});
  CHECK(parse_resources("CPU=0") == resource_map{{"CPU", 0}});
  CHECK(parse_resources("accelerator=2") == resource_map{{"accelerator", 2}});
}

TEST_CASE("parse_resources reads empty text and empty items as no resources") {
  CHECK(parse_resources("").empty());
  CHECK(parse_resources(",").empty());
  CHECK(parse_resources("CPU=2,,") == resource_map{{"CPU", 2}});
}

TEST_CASE("parse_resources names the bad item") {
  CHECK(parse_error("CPU") == "resource 'CPU' is not NAME=AMOUNT");
  CHECK(parse_error("CPU=2,=3").find("'=3'") != std::string::npos);
  for (std::string bad : {"CPU=abc", "CPU=", "CPU=-1", "CPU=2x", "GPU=1.5.2"}) {
    CAPTURE(bad);
    auto msg = parse_error("MEM=1," + bad);
    CHECK(msg.find("'" + bad + "'") != std::string::npos);
    CHECK(msg.find("MEM") == std::string::npos); // the good item is not blamed
  }
}

TEST_CASE("parse_resources rejects amounts that are not finite numbers") {
  // std::stod accepts "nan" and "inf"; `value < 0` is false for both, so
  // they pass the check. A NaN total makes fits() true for any request (every
  // comparison with NaN is false); an infinite CPU total reaches
  // node_daemon.cpp's static_cast<std::size_t>(CPU) (undefined behaviour).
  for (std::string bad : {"CPU=nan", "GPU=NaN", "CPU=-nan", "CPU=inf"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_resources(bad), std::invalid_argument);
  }
}

TEST_CASE("fits requires every positive amount and ignores zero ones") {
  resource_map node{{"CPU", 2}, {"GPU", 1}};
  CHECK(fits(node, {{"CPU", 2}}));
  CHECK(fits(node, {{"CPU", 1}, {"GPU", 1}}));
  CHECK_FALSE(fits(node, {{"CPU", 2.5}}));
  CHECK_FALSE(fits(node, {{"TPU", 1}}));
  CHECK(fits(node, {{"TPU", 0}}));
  CHECK(fits(node, {}));
  CHECK(fits({}, {{"CPU", 0}}));
  CHECK_FALSE(fits({}, {{"CPU", 0.001}}));
}

TEST_CASE("take and give are inverse and may go negative") {
  resource_map pool{{"CPU", 1}};
  take(pool, {{"CPU", 0.3}, {"GPU", 1}});
  CHECK(pool["CPU"] == doctest::Approx(0.7));
  CHECK(pool["GPU"] == -1);
  take(pool, {{"CPU", 1}});
  CHECK(pool["CPU"] == doctest::Approx(-0.3));
  give(pool, {{"CPU", 1}});
  give(pool, {{"CPU", 0.3}, {"GPU", 1}});
  CHECK(pool["CPU"] == doctest::Approx(1));
  CHECK(pool["GPU"] == 0);
}

TEST_CASE("to_string lists resources by name") {
  CHECK(to_string({}) == "{}");
  CHECK(to_string({{"GPU", 0.5}, {"CPU", 2}}) == "{CPU: 2, GPU: 0.5}");
}
