// The `troupe` command line: start and stop node daemons, show a node's
// status, run the microbenchmark. This executable is also the node daemon
// and worker process of the clusters it starts.

#include <iostream>

#include <CLI/CLI.hpp>
#include <troupe/runtime.hpp>

#include "tools/microbenchmark.hpp"
#include "tools/node_commands.hpp"
#include "tools/status.hpp"

namespace {

/// Returns an error message unless `text` is a non-negative number. CLI11's
/// own NonNegativeNumber prints the largest double as its bound.
std::string check_non_negative(std::string& text) {
  try {
    if (std::stod(text) >= 0)
      return {};
  } catch (const std::exception&) {
  }
  return "'" + text + "' is not a non-negative number";
}

} // namespace

int main(int argc, char** argv) {
  // Before any parsing: as a spawned node or worker, argv is not ours.
  troupe::serve_if_spawned();
  using namespace troupe::tools;
  CLI::App app{"troupe: distributed tasks and a shared-memory object store", "troupe"};
  app.require_subcommand(1);

  start_flags start;
  auto* start_cmd = app.add_subcommand("start", "start a node daemon: a cluster's head, "
                                                "or a node that joins one");
  auto* head_flag =
      start_cmd->add_flag("--head", start.head, "start the head node of a new cluster");
  start_cmd
      ->add_option("--address", start.address,
                   "HOST:PORT of a cluster's head: start a node that joins it")
      ->excludes(head_flag);
  start_cmd->add_option("--port", start.port,
                        "port to listen on (default: any free one)");
  start_cmd
      ->add_option("--num-cpus", start.num_cpus,
                   "CPUs to offer (default: one per hardware thread)")
      ->check(CLI::Validator{check_non_negative, "NONNEGATIVE"});
  start_cmd->add_option("--num-gpus", start.num_gpus, "GPUs to offer")
      ->check(CLI::Validator{check_non_negative, "NONNEGATIVE"});
  start_cmd->add_option("--resources", start.resources,
                        "custom resources, e.g. accelerator=2,disk=1");
  start_cmd->add_option("--object-store-memory", start.object_store_memory,
                        "bytes of the shared-memory object store (default: 30% of RAM)");
  start_cmd->add_option("--bind", start.bind, "address to listen on")
      ->capture_default_str();
  start_cmd->add_flag("--block", start.block,
                      "run the node in the foreground until it is stopped");

  auto* stop_cmd = app.add_subcommand("stop", "stop the node daemons started here");

  std::string status_address;
  bool status_json = false;
  auto* status_cmd = app.add_subcommand("status", "show the cluster's nodes (alive or "
                                                  "dead), resources, workers, stores "
                                                  "and pending demands");
  status_cmd->add_option("--address", status_address,
                         "HOST:PORT of any node of the cluster (default: the head started "
                         "here)");
  status_cmd->add_flag("--json", status_json, "print one JSON object");

  std::string list_what, list_address;
  bool list_json = false;
  auto* list_cmd = app.add_subcommand("list", "list the cluster's nodes, actors, "
                                              "placement groups, tasks or objects");
  list_cmd->add_option("what", list_what, "what to list")
      ->required()
      ->check(CLI::IsMember({"nodes", "actors", "placement-groups", "tasks", "objects"}));
  list_cmd->add_option("--address", list_address,
                       "HOST:PORT of any node of the cluster (default: the head started here)");
  list_cmd->add_flag("--json", list_json, "print one JSON array");

  microbenchmark_options bench;
  auto* bench_cmd =
      app.add_subcommand("microbenchmark", "measure the figures of BENCHMARKS.md");
  bench_cmd->add_flag("--quick", bench.quick, "fewer rounds, smaller objects (< 30 s)");
  bench_cmd->add_flag("--json", bench.json, "print one JSON object");
  bench_cmd->add_flag("--progress", bench.progress,
                      "print each phase's start time to stderr (always on a terminal)");
  bench_cmd->add_option("--only", bench.only,
                        "run only the workloads whose figure names contain this text");
  bench_cmd->add_option("--address", bench.address,
                        "HOST:PORT of a running head (default: an embedded cluster)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version exit 0; every usage error exits 2, like other CLIs.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*start_cmd)
    return run_start(start);
  if (*stop_cmd)
    return run_stop();
  if (*status_cmd)
    return run_status(status_address, status_json);
  if (*list_cmd)
    return run_list(list_what, list_address, list_json);
  if (*bench_cmd)
    return run_microbenchmark(bench);
  return 2;
}
