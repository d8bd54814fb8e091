// The `troupe` command line: start and stop node daemons, show a node's
// status, run the microbenchmark. This executable is also the node daemon
// and worker process of the clusters it starts.

#include <cmath>
#include <iostream>

#include <CLI/CLI.hpp>
#include <troupe/runtime.hpp>

#include "lib/net/credentials.hpp"
#include "tools/jobs.hpp"
#include "tools/logs.hpp"
#include "tools/metrics.hpp"
#include "tools/envelope.hpp"
#include "tools/microbenchmark.hpp"
#include "tools/node_commands.hpp"
#include "tools/status.hpp"

namespace {

/// Returns an error message unless `text` is a finite, non-negative number.
/// CLI11's own NonNegativeNumber prints the largest double as its bound, and
/// takes "inf" (which CAF 0.17 cannot send: scheduler/resources.hpp).
std::string check_non_negative(std::string& text) {
  try {
    auto value = std::stod(text);
    if (std::isfinite(value) && value >= 0)
      return {};
  } catch (const std::exception&) {
  }
  return "'" + text + "' is not a finite, non-negative number";
}

/// The CLI's commands and the values their flags set.
struct commands {
  CLI::App app{"troupe: distributed tasks and a shared-memory object store", "troupe"};
  troupe::tools::start_flags start;
  CLI::App* start_cmd = nullptr;
  CLI::App* stop_cmd = nullptr;
  std::string status_address;
  bool status_json = false;
  CLI::App* status_cmd = nullptr;
  std::string list_what, list_address;
  bool list_json = false;
  CLI::App* list_cmd = nullptr;
  troupe::tools::microbenchmark_options bench;
  CLI::App* bench_cmd = nullptr;
  troupe::tools::envelope_options envelope;
  CLI::App* envelope_cmd = nullptr;
  CLI::App* token_cmd = nullptr;
  troupe::tools::logs_options logs;
  CLI::App* logs_cmd = nullptr;
  std::string metrics_address;
  std::uint64_t metrics_node = 0;
  CLI::App* metrics_cmd = nullptr;
  troupe::tools::job_commands jobs;
};

void add_start(commands& c) {
  auto& start = c.start;
  c.start_cmd = c.app.add_subcommand("start", "start a node daemon: a cluster's head, "
                                              "or a node that joins one");
  auto* cmd = c.start_cmd;
  auto* head_flag = cmd->add_flag("--head", start.head, "start the head node of a new cluster");
  cmd->add_option("--address", start.address,
                  "HOST:PORT of a cluster's head: start a node that joins it")
    ->excludes(head_flag);
  cmd->add_option("--port", start.port, "port to listen on (default: any free one)");
  cmd->add_option("--num-cpus", start.num_cpus, "CPUs to offer (default: one per hardware thread; 0: none, for a head "
                  "that runs no tasks)")
    ->check(CLI::Validator{check_non_negative, "NONNEGATIVE"});
  cmd->add_option("--num-gpus", start.num_gpus, "GPUs to offer")
    ->check(CLI::Validator{check_non_negative, "NONNEGATIVE"});
  cmd->add_option("--resources", start.resources, "custom resources, e.g. accelerator=2,disk=1");
  cmd->add_option("--object-store-memory", start.object_store_memory,
                  "bytes of the shared-memory object store (default: 30% of RAM)");
  cmd->add_option("--max-job-store-bytes", start.max_job_store_bytes,
                  "bytes of this node's object store memory one job's objects may take; "
                  "past them its oldest unread objects are spilled, then its puts and "
                  "results fail with job_store_limit (default: no limit)");
  cmd->add_option("--spill-dir", start.spill_dir,
                  "folder where a full object store writes objects (default: one in the "
                  "session folder, removed when the node stops)");
  auto* state_dir = cmd->add_option("--state-dir", start.state_dir,
                                    "head: folder where it keeps the cluster's state "
                                    "(SQLite); a head started again with it takes the "
                                    "cluster back (default: one in the session folder)");
  cmd->add_option("--state", start.state_url,
                  "head: keep the cluster's state in Redis instead, redis://HOST:PORT/KEY")
    ->excludes(state_dir)
    ->needs(head_flag);
  state_dir->needs(head_flag);
  cmd->add_option("--head-grace-period", start.head_grace,
                  "seconds a node waits for its head to come back, and a restarted head "
                  "for its nodes (0: a node stops with its head)")
    ->capture_default_str()
    ->check(CLI::Range(0, 86400));
  cmd->add_option("--actor-hosts", start.actor_hosts,
                  "worker processes per job that host its light actors (isolation shared) "
                  "on this node (0: one per CPU)")
    ->capture_default_str();
  cmd->add_option("--max-actors-per-host", start.max_actors_per_host,
                  "most light actors in one host process (0: no limit)")
    ->capture_default_str();
  cmd->add_option("--bind", start.bind, "address to listen on")->capture_default_str();
  cmd->add_option("--metrics-port", start.metrics_port,
                  "port of the node's Prometheus metrics (/metrics) and health (/healthz) "
                  "over HTTP (0: any free one, -1: none)")
    ->capture_default_str()
    ->check(CLI::Range(-1, 65535));
  cmd->add_option("--metrics-bind", start.metrics_bind,
                  "address the metrics listen on (0.0.0.0 for a Prometheus or probes "
                  "elsewhere)")
    ->capture_default_str();
  cmd->add_option("--dashboard-port", start.dashboard_port,
                  "head: port of the web dashboard and its JSON API (0: any free one, "
                  "-1: none)")
    ->capture_default_str()
    ->check(CLI::Range(-1, 65535));
  cmd->add_option("--dashboard-bind", start.dashboard_bind,
                  "head: address the dashboard listens on (it asks for the cluster's "
                  "token when TLS is on)")
    ->capture_default_str();
  cmd->add_flag("--block", start.block, "run the node in the foreground until it is stopped");
  auto* token = cmd->add_option("--token", start.token,
                                "the cluster's token (printed by `troupe start --head`; "
                                "default: TROUPE_TOKEN, else that of a head started here; "
                                "a new head makes one)");
  cmd->add_flag("--insecure", start.insecure,
                "no TLS and no token: anyone who can reach the node's port can run code "
                "on it (every process of the cluster must pass it)")
    ->excludes(token);
}

void add_queries(commands& c) {
  c.status_cmd = c.app.add_subcommand("status", "show the cluster's nodes (alive or dead), "
                                                "resources, workers, stores and pending "
                                                "demands");
  c.status_cmd->add_option("--address", c.status_address,
                           "HOST:PORT of any node of the cluster (default: the head started "
                           "here)");
  c.status_cmd->add_flag("--json", c.status_json, "print one JSON object");
  c.list_cmd = c.app.add_subcommand("list", "list the cluster's nodes, actors, "
                                            "placement groups, tasks or objects");
  c.list_cmd->add_option("what", c.list_what, "what to list")
    ->required()
    ->check(CLI::IsMember({"nodes", "actors", "placement-groups", "tasks", "objects"}));
  c.list_cmd->add_option("--address", c.list_address,
                         "HOST:PORT of any node of the cluster (default: the head started "
                         "here)");
  c.list_cmd->add_flag("--json", c.list_json, "print one JSON array");
}

void add_logs(commands& c) {
  auto& o = c.logs;
  c.logs_cmd = c.app.add_subcommand(
    "logs", "list the log files of every node, or print one: a file, what an actor's "
            "worker wrote (--actor), or what a task wrote (--task)");
  auto* cmd = c.logs_cmd;
  cmd->add_option("file", o.file, "a log file to print, as the list names it");
  cmd->add_option("--address", o.address,
                  "HOST:PORT of any node of the cluster (default: the head started here)");
  cmd->add_option("--node", o.node, "only this node's files");
  auto* actor = cmd->add_option("--actor", o.actor,
                                "print what the named actor's worker wrote (stdout, then "
                                "stderr)");
  cmd->add_option("--namespace", o.name_space, "the actor's namespace")->needs(actor);
  auto* task = cmd->add_option("--task", o.task,
                               "print what task ID (as `troupe list tasks` shows it) wrote, "
                               "on whichever worker ran it")
                 ->excludes(actor);
  cmd->add_flag("--follow,-f", o.follow, "keep printing what is written (Ctrl-C ends)")
    ->excludes(task);
  cmd->add_option("--tail", o.tail, "print only the last N lines")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", o.json, "list the files as one JSON array");
}

void add_metrics(commands& c) {
  c.metrics_cmd = c.app.add_subcommand(
    "metrics", "print the nodes' Prometheus metrics, as a scrape of their /metrics");
  c.metrics_cmd->add_option("--address", c.metrics_address,
                            "HOST:PORT of any node of the cluster (default: the head "
                            "started here)");
  c.metrics_cmd->add_option("--node", c.metrics_node, "only this node's (default: every node's)");
}

void add_microbenchmark(commands& c) {
  auto& bench = c.bench;
  c.bench_cmd = c.app.add_subcommand("microbenchmark", "measure the figures of BENCHMARKS.md");
  auto* cmd = c.bench_cmd;
  cmd->add_flag("--quick", bench.quick, "fewer rounds, smaller objects (< 30 s)");
  cmd->add_flag("--json", bench.json, "print one JSON object");
  cmd->add_flag("--progress", bench.progress,
                "print each phase as a plain line on stderr, on a terminal too (by default "
                "one line redrawn there; piped, plain lines)");
  cmd->add_option("--suite", bench.suite,
                  "default: troupe's figures; ray: the rows of Ray's own `ray "
                  "microbenchmark`, as Ray runs them")
    ->check(CLI::IsMember({"default", "ray"}))
    ->capture_default_str();
  cmd->add_option("--only", bench.only,
                  "run only the workloads whose figure names contain this text");
  cmd->add_option("--address", bench.address,
                  "HOST:PORT of a running head (default: an embedded cluster)");
}

void add_envelope(commands& c) {
  auto& e = c.envelope;
  c.envelope_cmd = c.app.add_subcommand(
    "envelope", "how far this machine goes: light actors by the hundred thousand, process "
                "actors, a million queued tasks, 16 node daemons (BENCHMARKS.md, The envelope)");
  auto* cmd = c.envelope_cmd;
  cmd->add_option("--actors", e.actors, "light actors to create")->capture_default_str();
  cmd->add_option("--tasks", e.tasks, "tasks one driver queues")->capture_default_str();
  cmd->add_option("--process-actors", e.process_actors,
                  "process actors measured to say how many fit")
    ->capture_default_str();
  cmd->add_option("--nodes", e.nodes, "node daemons of the cluster part (at least 3)")
    ->capture_default_str();
  cmd->add_option("--refs", e.refs, "refs one get reads from all the nodes")
    ->capture_default_str();
  cmd->add_option("--call-rounds", e.call_rounds,
                  "rounds of calls to random light actors (the median is printed)")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  cmd->add_flag("--quick", e.quick, "a tenth of each size, 4 nodes");
  cmd->add_flag("--json", e.json, "print one JSON object");
  cmd->add_option("--only", e.only, "run only the parts whose name contains this "
                                    "(light_actors, process_actors, queued_tasks, nodes)");
}

} // namespace

int main(int argc, char** argv) {
  // Before any parsing: as a spawned node or worker, argv is not ours.
  troupe::serve_if_spawned();
  using namespace troupe::tools;
  commands c;
  c.app.require_subcommand(1);
  add_start(c);
  c.stop_cmd = c.app.add_subcommand("stop", "stop the node daemons started here");
  add_queries(c);
  add_microbenchmark(c);
  add_envelope(c);
  add_logs(c);
  add_metrics(c);
  add_job_commands(c.app, c.jobs);
  c.token_cmd = c.app.add_subcommand("new-token", "print a new cluster token (to rotate a "
                                                  "cluster's: README, Security)");
  try {
    c.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version exit 0; every usage error exits 2, like other CLIs.
    return c.app.exit(e) == 0 ? 0 : 2;
  }
  if (*c.start_cmd)
    return run_start(c.start);
  if (*c.stop_cmd)
    return run_stop();
  if (*c.status_cmd)
    return run_status(c.status_address, c.status_json);
  if (*c.list_cmd)
    return run_list(c.list_what, c.list_address, c.list_json);
  if (*c.bench_cmd)
    return run_microbenchmark(c.bench);
  if (*c.envelope_cmd)
    return run_envelope(c.envelope);
  if (*c.logs_cmd)
    return run_logs(c.logs);
  if (*c.metrics_cmd)
    return run_metrics(c.metrics_address, c.metrics_node);
  if (*c.jobs.job)
    return run_job_command(c.jobs);
  if (*c.token_cmd) {
    std::cout << troupe::net::cluster_token::generate().text() << "\n";
    return 0;
  }
  return 2;
}
