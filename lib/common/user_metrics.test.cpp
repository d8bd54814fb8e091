#include "troupe/metrics.hpp"

#include <doctest/doctest.h>

#include "lib/common/process_metrics.hpp"
#include "troupe/errors.hpp"

using namespace troupe;

namespace {

/// The text of this process's metrics now.
std::string scrape() {
  return metrics_text(detail::collect_process_metrics());
}

} // namespace

TEST_CASE("counters, gauges and histograms are recorded with their tags") {
  metrics::counter requests{"unit_requests_total", "requests", {"route"}};
  requests.inc(1, {{"route", "/a"}});
  requests.inc(2, {{"route", "/a"}});
  requests.inc(1, {{"route", "/b"}});
  metrics::gauge queue{"unit_queue_length", "queue"};
  queue.set(7);
  queue.set(4);
  metrics::histogram latency{"unit_latency_seconds", "latency", {0.01, 0.1, 1}};
  latency.observe(0.05);
  latency.observe(0.5);
  auto text = scrape();
  CHECK(text.find("unit_requests_total{route=\"/a\"} 3") != std::string::npos);
  CHECK(text.find("unit_requests_total{route=\"/b\"} 1") != std::string::npos);
  CHECK(text.find("unit_queue_length 4") != std::string::npos);
  CHECK(text.find("unit_latency_seconds_bucket{le=\"0.1\"} 1") != std::string::npos);
  CHECK(text.find("unit_latency_seconds_count 2") != std::string::npos);

  // The same declaration again is the same metric.
  metrics::counter again{"unit_requests_total", "requests", {"route"}};
  again.inc(1, {{"route", "/b"}});
  CHECK(scrape().find("unit_requests_total{route=\"/b\"} 2") != std::string::npos);
}

TEST_CASE("bad declarations and tags are refused, naming what is wrong") {
  CHECK_THROWS_WITH_AS(metrics::counter("bad name", "x"),
                       "'bad name' is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)",
                       argument_type_error);
  CHECK_THROWS_AS(metrics::gauge("unit_g", "x", {"bad-key"}), argument_type_error);
  CHECK_THROWS_AS(metrics::gauge("unit_g2", "x", {"pid"}), argument_type_error);
  metrics::counter c{"unit_once_total", "x", {"a"}};
  CHECK_THROWS_WITH_AS(metrics::gauge("unit_once_total", "x", {"a"}),
                       "metric 'unit_once_total' was declared before as another counter (kind, "
                       "description, tag keys and buckets must match)",
                       argument_type_error);
  CHECK_THROWS_WITH_AS(c.inc(1, {{"b", "x"}}),
                       "metric 'unit_once_total' has no tag key 'b' (declared: a)",
                       argument_type_error);
  CHECK_THROWS_AS(c.inc(-1), argument_type_error);
  CHECK_THROWS_AS(metrics::histogram("unit_h", "x", {1, 0.5}), argument_type_error);
  CHECK_THROWS_AS(metrics::histogram("unit_h2", "x", {}), argument_type_error);
}

TEST_CASE("troupe's own task metrics count runs and failures by function") {
  detail::observe_task("square", 0.002, false);
  detail::observe_task("square", 0.003, false);
  detail::observe_task("boom", 0.001, true);
  auto text = scrape();
  CHECK(text.find("troupe_task_duration_seconds_count{name=\"square\"} 2") != std::string::npos);
  CHECK(text.find("troupe_task_duration_seconds_bucket{name=\"square\",le=\"0.005\"} 2")
        != std::string::npos);
  CHECK(text.find("troupe_task_failures_total{name=\"boom\"} 1") != std::string::npos);
}
