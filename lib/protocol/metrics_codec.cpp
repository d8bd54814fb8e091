#include "lib/protocol/metrics_codec.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include <prometheus/text_serializer.h>

#include "lib/protocol/capnp_codec.hpp"
#include "lib/protocol/metrics.capnp.h"

namespace troupe {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricType;

schema::MetricType to_schema(MetricType t) {
  switch (t) {
    case MetricType::Counter:
      return schema::MetricType::COUNTER;
    case MetricType::Gauge:
      return schema::MetricType::GAUGE;
    case MetricType::Histogram:
      return schema::MetricType::HISTOGRAM;
    default:
      return schema::MetricType::UNTYPED; // summaries travel as their count: troupe makes none
  }
}

MetricType from_schema(schema::MetricType t) {
  switch (t) {
    case schema::MetricType::COUNTER:
      return MetricType::Counter;
    case schema::MetricType::GAUGE:
      return MetricType::Gauge;
    case schema::MetricType::HISTOGRAM:
      return MetricType::Histogram;
    default:
      return MetricType::Untyped;
  }
}

double value_of(const ClientMetric& m, MetricType t) {
  switch (t) {
    case MetricType::Counter:
      return m.counter.value;
    case MetricType::Gauge:
      return m.gauge.value;
    case MetricType::Summary:
      return static_cast<double>(m.summary.sample_count);
    default:
      return m.untyped.value;
  }
}

void set_value(ClientMetric& m, MetricType t, double v) {
  if (t == MetricType::Counter)
    m.counter.value = v;
  else if (t == MetricType::Gauge)
    m.gauge.value = v;
  else
    m.untyped.value = v;
}

void write_metric(schema::Metric::Builder out, const ClientMetric& m, MetricType t) {
  auto labels = out.initLabels(static_cast<unsigned>(m.label.size()));
  for (unsigned i = 0; i < m.label.size(); ++i) {
    labels[i].setName(m.label[i].name);
    labels[i].setValue(m.label[i].value);
  }
  if (t != MetricType::Histogram) {
    out.setValue(value_of(m, t));
    return;
  }
  out.setSampleCount(m.histogram.sample_count);
  out.setSampleSum(m.histogram.sample_sum);
  auto buckets = out.initBuckets(static_cast<unsigned>(m.histogram.bucket.size()));
  for (unsigned i = 0; i < m.histogram.bucket.size(); ++i) {
    buckets[i].setUpperBound(m.histogram.bucket[i].upper_bound);
    buckets[i].setCumulativeCount(m.histogram.bucket[i].cumulative_count);
  }
}

ClientMetric read_metric(schema::Metric::Reader in, MetricType t) {
  ClientMetric m;
  for (auto l : in.getLabels()) {
    std::string name = l.getName();
    if (!valid_metric_name(name))
      throw std::invalid_argument("a metric label has an invalid name");
    m.label.push_back({std::move(name), l.getValue()});
  }
  if (t != MetricType::Histogram) {
    set_value(m, t, in.getValue());
    return m;
  }
  m.histogram.sample_count = in.getSampleCount();
  m.histogram.sample_sum = in.getSampleSum();
  for (auto b : in.getBuckets())
    m.histogram.bucket.push_back({b.getCumulativeCount(), b.getUpperBound()});
  return m;
}

} // namespace

bool valid_metric_name(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9'))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || c == '_' || c == ':';
  });
}

std::vector<char> encode_metrics(const metric_families& families) {
  capnp::MallocMessageBuilder msg;
  auto list = msg.initRoot<schema::MetricFamilies>().initFamilies(
    static_cast<unsigned>(families.size()));
  for (unsigned i = 0; i < families.size(); ++i) {
    auto& f = families[i];
    auto out = list[i];
    out.setName(f.name);
    out.setHelp(f.help);
    out.setType(to_schema(f.type));
    auto metrics = out.initMetrics(static_cast<unsigned>(f.metric.size()));
    for (unsigned j = 0; j < f.metric.size(); ++j)
      write_metric(metrics[j], f.metric[j], f.type);
  }
  return detail::to_bytes(msg);
}

metric_families decode_metrics(const std::vector<char>& bytes) {
  detail::message_reader reader{bytes};
  metric_families out;
  for (auto f : reader.root<schema::MetricFamilies>().getFamilies()) {
    prometheus::MetricFamily family;
    family.name = f.getName();
    if (!valid_metric_name(family.name))
      throw std::invalid_argument("a metric family has an invalid name");
    family.help = f.getHelp();
    family.type = from_schema(f.getType());
    for (auto m : f.getMetrics())
      family.metric.push_back(read_metric(m, family.type));
    out.push_back(std::move(family));
  }
  return out;
}

void merge_metrics(metric_families& into, metric_families more, const metric_labels& extra) {
  for (auto& f : more) {
    for (auto& m : f.metric) {
      m.label.insert(m.label.end(), extra.begin(), extra.end());
      std::sort(m.label.begin(), m.label.end());
    }
    auto same = std::find_if(into.begin(), into.end(),
                             [&](const prometheus::MetricFamily& g) { return g.name == f.name; });
    if (same == into.end()) {
      into.push_back(std::move(f));
    } else if (same->type == f.type) {
      for (auto& m : f.metric)
        same->metric.push_back(std::move(m));
    }
  }
}

std::string metrics_text(const metric_families& families) {
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, families);
  return out.str();
}

} // namespace troupe
