#include "lib/protocol/metrics_codec.hpp"

#include <doctest/doctest.h>

using namespace troupe;
using prometheus::MetricType;

namespace {

metric_families sample() {
  prometheus::MetricFamily counter{"app_requests_total", "requests", MetricType::Counter, {}};
  prometheus::ClientMetric c;
  c.label = {{"route", "/a"}};
  c.counter.value = 7;
  counter.metric.push_back(c);
  prometheus::MetricFamily hist{"app_latency_seconds", "latency", MetricType::Histogram, {}};
  prometheus::ClientMetric h;
  h.histogram.sample_count = 3;
  h.histogram.sample_sum = 0.5;
  h.histogram.bucket = {{1, 0.1}, {3, 1.0}};
  hist.metric.push_back(h);
  return {counter, hist};
}

} // namespace

TEST_CASE("metric families cross processes unchanged") {
  auto back = decode_metrics(encode_metrics(sample()));
  REQUIRE(back.size() == 2);
  CHECK(back[0].name == "app_requests_total");
  CHECK(back[0].type == MetricType::Counter);
  REQUIRE(back[0].metric.size() == 1);
  CHECK(back[0].metric[0].counter.value == 7);
  CHECK(back[0].metric[0].label[0].value == "/a");
  CHECK(back[1].type == MetricType::Histogram);
  CHECK(back[1].metric[0].histogram.sample_count == 3);
  CHECK(back[1].metric[0].histogram.bucket[1].upper_bound == 1.0);
}

TEST_CASE("bytes that are not metric families, or bad names, are refused") {
  std::vector<char> junk{'n', 'o', 't', ' ', 'c', 'a', 'p', 'n', 'p'};
  CHECK_THROWS(decode_metrics(junk));
  auto bad = sample();
  bad[0].name = "1 bad name";
  CHECK_THROWS(decode_metrics(encode_metrics(bad)));
}

TEST_CASE("families of one name merge, each metric labelled with where it came from") {
  metric_families all;
  merge_metrics(all, sample(), {{"pid", "1"}});
  merge_metrics(all, sample(), {{"pid", "2"}});
  REQUIRE(all.size() == 2);
  REQUIRE(all[0].metric.size() == 2);
  CHECK(all[0].metric[1].label.size() == 2);
  auto text = metrics_text(all);
  CHECK(text.find("# TYPE app_requests_total counter") != std::string::npos);
  CHECK(text.find("app_requests_total{pid=\"1\",route=\"/a\"} 7") != std::string::npos);
  CHECK(text.find("app_requests_total{pid=\"2\",route=\"/a\"} 7") != std::string::npos);
  CHECK(text.find("app_latency_seconds_bucket{pid=\"2\",le=\"1\"} 3") != std::string::npos);
  // One HELP and TYPE per family, as Prometheus requires.
  CHECK(text.find("# TYPE app_requests_total") == text.rfind("# TYPE app_requests_total"));

  // A family of the same name and another type does not join.
  metric_families other{{"app_requests_total", "x", MetricType::Gauge, {{}}}};
  merge_metrics(all, other, {});
  CHECK(all[0].metric.size() == 2);
}
