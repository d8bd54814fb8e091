#pragma once

// Prometheus metric families across processes (metrics.capnp): each process
// encodes its own, its node's metrics server decodes and merges them, and
// serves one text exposition.

#include <string>
#include <vector>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

namespace troupe {

using metric_families = std::vector<prometheus::MetricFamily>;
using metric_labels = std::vector<prometheus::ClientMetric::Label>;

/// Returns whether Prometheus takes `name` as a metric or label name:
/// [a-zA-Z_:][a-zA-Z0-9_:]*.
bool valid_metric_name(const std::string& name);

/// Returns `families` as MetricFamilies bytes.
std::vector<char> encode_metrics(const metric_families& families);

/// Returns the families of MetricFamilies bytes; throws std::exception when
/// they are not such bytes (or a family has no valid name).
metric_families decode_metrics(const std::vector<char>& bytes);

/// Adds `more` to `into`, each of its metrics labelled with `extra` too:
/// a family of a name `into` has joins it (when of the same type; else it
/// is dropped), others are appended.
void merge_metrics(metric_families& into, metric_families more, const metric_labels& extra);

/// Returns the families in Prometheus's text format.
std::string metrics_text(const metric_families& families);

} // namespace troupe
