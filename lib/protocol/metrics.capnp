@0x96073ffd7844783b;
# A process's metrics, as its core actor sends them to its node's metrics
# server on each scrape (`metrics` message): Prometheus metric families,
# field for field as prometheus-cpp's MetricFamily and ClientMetric.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::schema");

struct MetricFamilies {
  families @0 :List(MetricFamily);
}

enum MetricType {
  counter @0;
  gauge @1;
  histogram @2;
  untyped @3;
}

struct MetricFamily {
  name @0 :Text;
  help @1 :Text;
  type @2 :MetricType;
  metrics @3 :List(Metric);
}

struct Metric {
  labels @0 :List(Label);
  value @1 :Float64;        # counter, gauge, untyped
  sampleCount @2 :UInt64;   # histogram
  sampleSum @3 :Float64;    # histogram
  buckets @4 :List(Bucket); # histogram, cumulative
}

struct Label {
  name @0 :Text;
  value @1 :Text;
}

struct Bucket {
  upperBound @0 :Float64;
  cumulativeCount @1 :UInt64;
}
