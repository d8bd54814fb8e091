#include "tools/microbenchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <troupe/troupe.hpp>

#include "tools/bench_workloads.hpp"

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
    {"tcp_stream_gigabytes", "GB/s"},
    {"tcp_roundtrip_us", "us"},
    {"cross_node_floor_ratio", "x"},
    {"task_roundtrip_floor_ratio", "x"},
};

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

/// Prints a progress line with the time since the start to stderr, so that
/// a slow phase shows where it is; stdout stays one figure a line.
void progress(bool on, const std::string& what) {
  static const auto start = std::chrono::steady_clock::now();
  if (on)
    std::cerr << "# "
              << format_value(std::chrono::duration<double>(
                                  std::chrono::steady_clock::now() - start)
                                  .count())
              << " s: " << what << std::endl;
}

void print_results(const bench_samples& samples,
                   const std::map<std::string, std::string>& errors, bool json) {
  auto doc = nlohmann::ordered_json::object();
  for (auto& f : all_figures) {
    std::string value;
    if (errors.count(f.name))
      value = "error";
    else if (auto it = samples.find(f.name); it != samples.end() && !it->second.empty())
      value = format_value(median(it->second));
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

} // namespace

int run_microbenchmark(const microbenchmark_options& options) {
  auto show = options.progress || ::isatty(2);
  bench_config cfg;
  cfg.quick = options.quick;
  cfg.rounds = cfg.pick(5, 3);
  cfg.timeout = cfg.pick(std::chrono::seconds(30), std::chrono::seconds(10));
  cfg.big_bytes = cfg.pick<std::size_t>(400'000'000, 100'000'000);
  bench_samples samples;
  std::map<std::string, std::string> errors;
  auto fail = [&](const std::vector<std::string>& names, const std::exception& e) {
    for (auto& n : names) {
      errors[n] = e.what();
      samples.erase(n);
    }
    std::cerr << "troupe microbenchmark: " << names.front() << " failed: " << e.what()
              << "\n";
  };
  // A fresh cluster each time: only meaningful for the embedded one, and it
  // must run before the main `init` (one cluster per process at a time).
  auto wanted = [&](const std::vector<std::string>& names) {
    return options.only.empty()
           || std::any_of(names.begin(), names.end(), [&](const std::string& n) {
                return n.find(options.only) != std::string::npos;
              });
  };
  if (options.address.empty() && wanted({"cluster_start_s"})) {
    progress(show, "cluster_start_s");
    try {
      measure_cluster_start(cfg, samples);
    } catch (const std::exception& e) {
      fail({"cluster_start_s"}, e);
    }
  }
  if (options.address.empty() && wanted({"first_put_gigabytes"})) {
    progress(show, "first_put_gigabytes");
    try {
      measure_first_put(cfg, samples);
    } catch (const std::exception& e) {
      fail({"first_put_gigabytes"}, e);
    }
  }
  progress(show, "init and warm-up");
  try {
    init_options init;
    if (options.address.empty())
      init.object_store_memory = 2ULL << 30; // the 400 MB objects must fit
    else
      init.address = options.address;
    troupe::init(init);
    warm_up(cfg);
  } catch (const std::exception& e) {
    std::cerr << "troupe microbenchmark: cannot start the cluster: " << e.what() << "\n";
    troupe::shutdown();
    return 1;
  }
  for (auto& w : cluster_workloads()) {
    if (!wanted(w.names))
      continue;
    progress(show, w.names.front());
    try {
      w.run(cfg, samples);
    } catch (const std::exception& e) {
      fail(w.names, e);
    }
  }
  progress(show, "shutdown");
  troupe::shutdown();
  progress(show, "done");
  print_results(samples, errors, options.json);
  return errors.empty() ? 0 : 1;
}

} // namespace troupe::tools
