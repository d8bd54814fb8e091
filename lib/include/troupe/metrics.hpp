#pragma once

// Application metrics, like Ray's C++ `ray::Counter`, `ray::Gauge` and
// `ray::Histogram`: declare one anywhere (a driver, a task, an actor), record
// values with tags, and the node the process runs on exports them in
// Prometheus's format with the cluster's own metrics (`troupe metrics`, or
// `http://NODE:METRICS_PORT/metrics`), each series labelled with the
// recording process's `pid` and `node` besides its tags.
//
//     troupe::metrics::counter requests{"app_requests", "requests served", {"route"}};
//     requests.inc(1, {{"route", "/search"}});
//     troupe::metrics::histogram latency{"app_latency_seconds", "time to answer",
//                                        {0.001, 0.01, 0.1, 1}};
//     latency.observe(0.004);
//
// Metrics of one name are one family per process: declaring a name again
// gives the same metric (it must be of the same kind, help and tag keys).
// A name or tag key that Prometheus does not accept ([a-zA-Z_:][a-zA-Z0-9_:]*),
// a redeclaration that differs, or a tag that was not declared throws
// `troupe::argument_type_error` naming it. Recording is thread-safe and
// costs a few atomic operations.

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace troupe::metrics {

/// Tag values by tag key, e.g. `{{"route", "/search"}}`.
using tags = std::map<std::string, std::string>;

namespace detail {
struct family;
} // namespace detail

/// A value that only goes up (requests served, bytes sent).
class counter {
public:
  counter(const std::string& name, const std::string& description,
          const std::vector<std::string>& tag_keys = {});
  /// Adds `value` (>= 0) to the series of `t`.
  void inc(double value = 1, const tags& t = {}) const;

private:
  std::shared_ptr<detail::family> family_;
};

/// A value that goes up and down (queue length, temperature).
class gauge {
public:
  gauge(const std::string& name, const std::string& description,
        const std::vector<std::string>& tag_keys = {});
  /// Sets the series of `t` to `value`.
  void set(double value, const tags& t = {}) const;

private:
  std::shared_ptr<detail::family> family_;
};

/// Counts of observed values in buckets (latencies, sizes).
class histogram {
public:
  /// `boundaries`: the buckets' upper bounds, increasing.
  histogram(const std::string& name, const std::string& description,
            const std::vector<double>& boundaries,
            const std::vector<std::string>& tag_keys = {});
  /// Observes `value` in the series of `t`.
  void observe(double value, const tags& t = {}) const;

private:
  std::shared_ptr<detail::family> family_;
};

} // namespace troupe::metrics
