#include "tools/microbenchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <numeric>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <troupe/troupe.hpp>

#include "lib/common/config.hpp"
#include "tools/bench_cluster.hpp"
#include "tools/bench_ray.hpp"
#include "tools/bench_tasks.hpp"
#include "tools/bench_spill.hpp"
#include "tools/bench_workloads.hpp"
#include "tools/progress.hpp"

namespace troupe::tools {

namespace {

struct figure_spec {
  const char* name;
  const char* unit;
};

/// Every figure of the microbenchmark (BENCHMARKS.md), in its order: other tools read
/// these names, so all of them are printed, supported or not.
constexpr figure_spec all_figures[] = {
    {"single_client_tasks_sync", "tasks/s"},
    {"single_client_tasks_async", "tasks/s"},
    {"multi_client_tasks_async", "tasks/s"},
    {"single_client_tasks_and_get_batch", "batches/s"},
    {"1_1_actor_calls_sync", "calls/s"},
    {"1_1_actor_calls_async", "calls/s"},
    {"1_1_actor_calls_concurrent", "calls/s"},
    {"1_n_actor_calls_async", "calls/s"},
    {"n_n_actor_calls_async", "calls/s"},
    {"n_n_actor_calls_with_arg_async", "calls/s"},
    {"single_client_put_calls", "ops/s"},
    {"single_client_get_calls", "ops/s"},
    {"multi_client_put_calls", "ops/s"},
    {"single_client_put_gigabytes", "GB/s"},
    {"single_client_wait_1k_refs", "waits/s"},
    {"single_client_get_object_containing_10k_refs", "ops/s"},
    {"placement_group_create_removal", "groups/s"},
    {"task_roundtrip_p50_us", "us"},
    {"task_roundtrip_p99_us", "us"},
    {"actor_call_p50_us", "us"},
    {"actor_call_p99_us", "us"},
    {"chain_1000_tasks", "tasks/s"},
    {"tree_reduce_1024_s", "s"},
    {"large_arg_100mb_s", "s"},
    {"get_large_gigabytes", "GB/s"},
    {"actor_creation_per_s", "actors/s"},
    {"cluster_start_s", "s"},
    {"cross_node_put_get_gigabytes", "GB/s"},
    {"first_put_gigabytes", "GB/s"},
    {"spill_gigabytes", "GB/s"},
    {"restore_gigabytes", "GB/s"},
    {"tcp_stream_gigabytes", "GB/s"},
    {"tcp_roundtrip_us", "us"},
    {"cross_node_floor_ratio", "x"},
    {"task_roundtrip_floor_ratio", "x"},
    {"pool_map_items_per_s", "items/s"},
    {"pool_map_cpu_speedup", "x"},
    {"queue_put_get_ops_per_s", "ops/s"},
    {"queue_task_to_task_items_per_s", "items/s"},
    {"serve_requests_per_s", "req/s"},
    {"serve_p50_ms", "ms"},
    {"serve_p99_ms", "ms"},
    // The rows TLS moves, again on a cluster without it (--insecure).
    {"single_client_tasks_async_insecure", "tasks/s"},
    {"task_roundtrip_p50_us_insecure", "us"},
    {"cross_node_put_get_gigabytes_insecure", "GB/s"},
};

/// The figures measured again without TLS, each as `<name>_insecure`.
const std::vector<std::string> tls_moved = {"single_client_tasks_async",
                                            "task_roundtrip_p50_us",
                                            "cross_node_put_get_gigabytes"};

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/// Returns `x` with about three significant digits, never in exponent form
/// (whole numbers from 100 up): also a valid JSON number.
std::string format_value(double x) {
  char buf[64];
  auto mag = x < 0 ? -x : x;
  if (mag >= 100)
    std::snprintf(buf, sizeof(buf), "%.0f", x);
  else if (mag >= 10)
    std::snprintf(buf, sizeof(buf), "%.1f", x);
  else if (mag >= 1)
    std::snprintf(buf, sizeof(buf), "%.2f", x);
  else if (mag >= 0.001)
    std::snprintf(buf, sizeof(buf), "%.4f", x);
  else
    std::snprintf(buf, sizeof(buf), "%.6f", x);
  return buf;
}

double mean(const std::vector<double>& xs) {
  return std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
}

/// Prints one line (or JSON member) per figure of `figures`, in their order:
/// the mean or the median of its samples, `error`, or `unsupported`.
void print_results(const std::vector<figure_spec>& figures, const bench_samples& samples,
                   const std::map<std::string, std::string>& errors, bool json,
                   bool use_mean) {
  auto doc = nlohmann::ordered_json::object();
  for (auto& f : figures) {
    std::string value;
    if (errors.count(f.name))
      value = "error";
    else if (auto it = samples.find(f.name); it != samples.end() && !it->second.empty())
      value = format_value(use_mean ? mean(it->second) : median(it->second));
    else
      value = "unsupported";
    bool figure = value != "error" && value != "unsupported";
    if (json) {
      // A figure as the number it reads as; anything else as text.
      auto number = nlohmann::ordered_json::parse(value, nullptr, false);
      doc[f.name] = figure && !number.is_discarded() ? number : nlohmann::ordered_json(value);
    } else {
      std::cout << f.name << ' ' << value;
      if (figure)
        std::cout << ' ' << f.unit;
      std::cout << '\n';
    }
  }
  if (json)
    std::cout << doc.dump(2) << '\n';
  std::cout << std::flush;
}

/// One run of a suite: its settings, the figures measured so far and the
/// workloads that failed.
struct bench_run {
  const microbenchmark_options& options;
  /// Each phase as it starts, on stderr: stdout stays one figure a line.
  /// Redrawn on a terminal, plain lines when piped or with --progress.
  progress_line line{!options.progress && ::isatty(2) == 1};
  bench_config cfg;
  bench_samples samples;
  std::map<std::string, std::string> errors;

  /// Returns whether `--only` selects any of `names`.
  bool wanted(const std::vector<std::string>& names) const {
    return options.only.empty()
           || std::any_of(names.begin(), names.end(), [&](const std::string& n) {
                return n.find(options.only) != std::string::npos;
              });
  }

  void fail(const std::vector<std::string>& names, const std::string& why) {
    for (auto& n : names) {
      errors[n] = why;
      samples.erase(n);
    }
    line.note("troupe microbenchmark: " + names.front() + " failed: " + why);
  }

  /// Runs one workload; its failure fails its figures, not the run.
  void run(const std::vector<std::string>& names,
           void (*workload)(const bench_config&, bench_samples&)) {
    line.show(names.front());
    try {
      workload(cfg, samples);
    } catch (const std::exception& e) {
      fail(names, e.what());
    }
  }

  /// Connects to the cluster (`--address`) or starts an embedded one with a
  /// store for the big objects, and warms it up. Returns false (and says
  /// why) when it cannot.
  bool start_cluster(std::map<std::string, double> resources = {}) {
    line.show("init and warm-up");
    try {
      init_options init;
      if (options.address.empty()) {
        init.object_store_memory = 2ULL << 30; // the 400 MB (Ray: 800 MiB) objects fit
        init.resources = std::move(resources);
      } else {
        init.address = options.address;
      }
      troupe::init(init);
      warm_up(cfg);
      return true;
    } catch (const std::exception& e) {
      std::cerr << "troupe microbenchmark: cannot start the cluster: " << e.what() << "\n";
      troupe::shutdown();
      return false;
    }
  }
};

/// The rows TLS moves, on an embedded cluster of their own without TLS: what
/// TLS costs is the difference. The process's security settings are put
/// back afterwards, so that later clusters run TLS again.
void run_insecure_rows(bench_run& r) {
  std::vector<std::string> names;
  for (auto& n : tls_moved)
    names.push_back(n + "_insecure");
  r.line.show("the rows TLS moves, without TLS");
  auto saved_token = detail::env_or("TROUPE_TOKEN", "");
  bench_samples plain;
  try {
    init_options init;
    init.object_store_memory = 2ULL << 30;
    init.insecure = true;
    troupe::init(init);
    warm_up(r.cfg);
    bench::tasks_sync(r.cfg, plain);
    bench::tasks_async(r.cfg, plain);
    bench::cross_node_put_get(r.cfg, plain);
    troupe::shutdown();
    for (std::size_t i = 0; i < tls_moved.size(); ++i)
      r.samples[names[i]] = plain[tls_moved[i]];
  } catch (const std::exception& e) {
    troupe::shutdown();
    r.fail(names, e.what());
  }
  ::unsetenv("TROUPE_INSECURE");
  if (!saved_token.empty())
    ::setenv("TROUPE_TOKEN", saved_token.c_str(), 1);
}

int run_default_suite(bench_run& r) {
  // A fresh cluster each time: only meaningful for the embedded one, and it
  // must run before the main `init` (one cluster per process at a time).
  if (r.options.address.empty() && r.wanted({"cluster_start_s"}))
    r.run({"cluster_start_s"}, measure_cluster_start);
  if (r.options.address.empty() && r.wanted({"first_put_gigabytes"}))
    r.run({"first_put_gigabytes"}, measure_first_put);
  if (!r.start_cluster())
    return 1;
  for (auto& w : cluster_workloads())
    if (r.wanted(w.names))
      r.run(w.names, w.run);
  r.line.show("shutdown");
  troupe::shutdown();
  if (r.options.address.empty()
      && r.wanted({"single_client_tasks_async_insecure", "task_roundtrip_p50_us_insecure",
                   "cross_node_put_get_gigabytes_insecure"}))
    run_insecure_rows(r);
  // Clusters of their own with a small store, after the main one: the
  // gigabytes they write to disk do not disturb the other rows.
  if (r.options.address.empty() && r.wanted({"spill_gigabytes", "restore_gigabytes"}))
    r.run({"spill_gigabytes", "restore_gigabytes"}, measure_spill);
  r.line.clear();
  print_results({std::begin(all_figures), std::end(all_figures)}, r.samples, r.errors,
                r.options.json, false);
  return r.errors.empty() ? 0 : 1;
}

/// Ray's rows on one cluster, but for those that Ray runs on a fresh one
/// (placement groups: a node with `custom: 100`), each on its own after.
/// Against `--address` there is no fresh cluster: those rows run on the
/// given one, which must offer `custom`.
int run_ray_suite(bench_run& r) {
  std::vector<const ray_row*> shared, fresh;
  for (auto& row : ray_rows())
    if (r.wanted({row.name}))
      (row.fresh_cluster ? fresh : shared).push_back(&row);
  if (!shared.empty()) {
    if (!r.start_cluster())
      return 1;
    for (auto* row : shared)
      r.run({row->name}, row->run);
    r.line.show("shutdown");
    troupe::shutdown();
  }
  for (auto* row : fresh) {
    if (!r.start_cluster({{"custom", 100}})) {
      r.fail({row->name}, "cannot start its cluster");
      continue;
    }
    r.run({row->name}, row->run);
    troupe::shutdown();
  }
  r.line.clear();
  std::vector<figure_spec> figures;
  for (auto& row : ray_rows())
    figures.push_back({row.name, row.unit});
  print_results(figures, r.samples, r.errors, r.options.json, true);
  return r.errors.empty() ? 0 : 1;
}

} // namespace

int run_microbenchmark(const microbenchmark_options& options) {
  bench_run r{options};
  r.cfg.quick = options.quick;
  r.cfg.rounds = r.cfg.pick(5, 3);
  r.cfg.timeout = r.cfg.pick(std::chrono::seconds(30), std::chrono::seconds(10));
  r.cfg.big_bytes = r.cfg.pick<std::size_t>(400'000'000, 100'000'000);
  return options.suite == "ray" ? run_ray_suite(r) : run_default_suite(r);
}

} // namespace troupe::tools
