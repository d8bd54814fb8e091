#include "lib/common/process_metrics.hpp"

#include <string>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>

namespace troupe::detail {

namespace {

/// Task durations from 100 us to a minute.
const prometheus::Histogram::BucketBoundaries task_buckets{
  0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60};

struct task_families {
  prometheus::Family<prometheus::Histogram>& durations;
  prometheus::Family<prometheus::Counter>& failures;
};

task_families& tasks() {
  static task_families f{
    prometheus::BuildHistogram()
      .Name("troupe_task_duration_seconds")
      .Help("How long tasks and actor calls ran in this process, by function")
      .Register(process_registry()),
    prometheus::BuildCounter()
      .Name("troupe_task_failures_total")
      .Help("Tasks and actor calls that threw or were refused in this process, by function")
      .Register(process_registry())};
  return f;
}

} // namespace

prometheus::Registry& process_registry() {
  static auto* registry = new prometheus::Registry; // lives as long as any thread records
  return *registry;
}

metric_families collect_process_metrics() {
  return process_registry().Collect();
}

void observe_task(std::string_view name, double seconds, bool failed) {
  // Each executor thread runs one function after another: the series of the
  // last one is kept, so that a run of calls finds it without a lookup.
  thread_local std::string last_name;
  thread_local prometheus::Histogram* last = nullptr;
  auto& f = tasks();
  if (last == nullptr || last_name != name) {
    last_name.assign(name);
    last = &f.durations.Add({{"name", last_name}}, task_buckets);
  }
  last->Observe(seconds);
  if (failed)
    f.failures.Add({{"name", std::string{name}}}).Increment();
}

} // namespace troupe::detail
