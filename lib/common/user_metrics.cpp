// troupe::metrics (troupe/metrics.hpp): the users' metrics, as families of
// this process's registry (process_metrics.hpp).
#include "troupe/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "lib/common/process_metrics.hpp"
#include "troupe/errors.hpp"

namespace troupe::metrics {

namespace detail {

/// One metric name of this process: its kind, help, tag keys and family.
struct family {
  enum class kind { counter, gauge, histogram };
  kind what;
  std::string name;
  std::string help;
  std::vector<std::string> keys; ///< sorted
  std::vector<double> bounds;
  prometheus::Family<prometheus::Counter>* counters = nullptr;
  prometheus::Family<prometheus::Gauge>* gauges = nullptr;
  prometheus::Family<prometheus::Histogram>* histograms = nullptr;

  /// The labels of `t`; throws when a tag was not declared.
  std::map<std::string, std::string> labels(const tags& t) const {
    for (auto& [key, value] : t)
      if (!std::binary_search(keys.begin(), keys.end(), key))
        throw argument_type_error("metric '" + name + "' has no tag key '" + key
                                  + "' (declared: " + declared() + ")");
    return {t.begin(), t.end()};
  }

  std::string declared() const {
    std::string out;
    for (auto& k : keys)
      out += (out.empty() ? "" : ", ") + k;
    return out.empty() ? "none" : out;
  }
};

} // namespace detail

namespace {

using detail::family;

const char* kind_name(family::kind k) {
  return k == family::kind::counter ? "counter"
                                    : k == family::kind::gauge ? "gauge" : "histogram";
}

/// Returns the family of `name`, registered on first use; throws when the
/// declaration is invalid or differs from an earlier one.
std::shared_ptr<family> declare(family::kind what, const std::string& name,
                                const std::string& help, std::vector<std::string> keys,
                                std::vector<double> bounds = {}) {
  if (!valid_metric_name(name))
    throw argument_type_error("'" + name + "' is not a valid metric name "
                              "([a-zA-Z_:][a-zA-Z0-9_:]*)");
  for (auto& k : keys)
    if (!valid_metric_name(k) || k.rfind("__", 0) == 0 || k.find(':') != std::string::npos)
      throw argument_type_error("'" + k + "' is not a valid tag key of metric '" + name + "'");
  for (const char* reserved : {"pid", "node"})
    if (std::find(keys.begin(), keys.end(), reserved) != keys.end())
      throw argument_type_error("tag key '" + std::string{reserved} + "' of metric '" + name
                                + "' is troupe's: every series has it");
  std::sort(keys.begin(), keys.end());
  if (what == family::kind::histogram
      && (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end())
          || std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end()
          || !std::all_of(bounds.begin(), bounds.end(), [](double b) { return std::isfinite(b); })))
    throw argument_type_error("histogram '" + name
                              + "' needs finite bucket boundaries in increasing order");
  static std::mutex mtx;
  static std::map<std::string, std::shared_ptr<family>> families;
  std::lock_guard guard{mtx};
  if (auto it = families.find(name); it != families.end()) {
    auto& f = *it->second;
    if (f.what != what || f.help != help || f.keys != keys || f.bounds != bounds)
      throw argument_type_error("metric '" + name + "' was declared before as another "
                                + std::string{kind_name(f.what)} + " (kind, description, tag "
                                "keys and buckets must match)");
    return it->second;
  }
  auto f = std::make_shared<family>(family{what, name, help, std::move(keys), std::move(bounds)});
  auto& registry = troupe::detail::process_registry();
  try {
    if (what == family::kind::counter)
      f->counters = &prometheus::BuildCounter().Name(name).Help(help).Register(registry);
    else if (what == family::kind::gauge)
      f->gauges = &prometheus::BuildGauge().Name(name).Help(help).Register(registry);
    else
      f->histograms = &prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
  } catch (const std::invalid_argument& e) {
    throw argument_type_error("metric '" + name + "' cannot be declared: " + e.what());
  }
  families.emplace(name, f);
  return f;
}

} // namespace

counter::counter(const std::string& name, const std::string& description,
                 const std::vector<std::string>& tag_keys)
  : family_(declare(family::kind::counter, name, description, tag_keys)) {
}

void counter::inc(double value, const tags& t) const {
  if (!(value >= 0))
    throw argument_type_error("counter '" + family_->name + "' only goes up: inc("
                              + std::to_string(value) + ")");
  family_->counters->Add(family_->labels(t)).Increment(value);
}

gauge::gauge(const std::string& name, const std::string& description,
             const std::vector<std::string>& tag_keys)
  : family_(declare(family::kind::gauge, name, description, tag_keys)) {
}

void gauge::set(double value, const tags& t) const {
  family_->gauges->Add(family_->labels(t)).Set(value);
}

histogram::histogram(const std::string& name, const std::string& description,
                     const std::vector<double>& boundaries,
                     const std::vector<std::string>& tag_keys)
  : family_(declare(family::kind::histogram, name, description, tag_keys, boundaries)) {
}

void histogram::observe(double value, const tags& t) const {
  family_->histograms->Add(family_->labels(t), family_->bounds).Observe(value);
}

} // namespace troupe::metrics
