#include "tools/logs.hpp"

#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/node_logs.hpp"
#include "lib/core/worker_output.hpp"
#include "lib/protocol/status.hpp"
#include "tools/cli_session.hpp"
#include "tools/format.hpp"
#include "tools/status.hpp"

namespace troupe::tools {

namespace {

/// A log file and the node that has it.
struct node_file {
  std::uint64_t node = 0;
  control_store_actor control;
  log_file file;
};

/// Calls `f(line, marker)` for each line of `text`, `marker` set when the
/// line is a task marker (its fields in `src`).
template <class F>
void for_each_line(std::string_view text, F f) {
  detail::output_source src;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl == std::string_view::npos ? text.size() : nl + 1);
    text.remove_prefix(line.size());
    auto bare = line.back() == '\n' ? line.substr(0, line.size() - 1) : line;
    bool marker = detail::parse_output_marker(bare, src);
    f(line, marker, src);
  }
}

/// The log files of the cluster's nodes (only `only`'s unless 0).
std::vector<node_file> cluster_files(cli_session& s, std::uint64_t only) {
  std::vector<node_file> all;
  bool found = false;
  for (auto& n : s.nodes().nodes) {
    if (only != 0 && n.node_id != only)
      continue;
    found = true;
    if (!n.alive) {
      std::cerr << "troupe logs: node " << n.node_id << " is dead: its files are on "
                << n.host << " only\n";
      continue;
    }
    std::uint64_t id = 0;
    auto files = log_files_from_json(
      s.ask<std::string>("the control store of node", n.control, log_atom::value), id);
    for (auto& f : files)
      all.push_back({n.node_id, n.control, std::move(f)});
  }
  if (only != 0 && !found)
    throw std::runtime_error("the cluster has no node " + std::to_string(only));
  return all;
}

/// Reads `f` from `offset` to its end.
std::string read_all(cli_session& s, const node_file& f, std::uint64_t offset = 0) {
  std::string text;
  for (;;) {
    auto part = s.ask<std::string>("a node", f.control, log_atom::value, f.file.name,
                                   offset + text.size(), max_log_read);
    if (part.empty())
      return text;
    text += part;
  }
}

/// Reads the end of `f`: enough of it for its last `n` lines. Sets `end` to
/// where the file ended.
std::string read_tail(cli_session& s, const node_file& f, std::size_t n, std::uint64_t& end) {
  end = f.file.size;
  auto from = end;
  std::string text;
  while (from > 0) {
    auto step = std::min<std::uint64_t>(from, 64 * 1024);
    from -= step;
    auto part = s.ask<std::string>("a node", f.control, log_atom::value, f.file.name, from,
                                   step);
    text.insert(0, part);
    if (static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) > n)
      break;
  }
  return last_lines(without_markers(text), n);
}

int list_files(cli_session& s, const logs_options& o) {
  auto files = cluster_files(s, o.node);
  if (o.json) {
    auto out = nlohmann::json::array();
    for (auto& f : files)
      out.push_back({{"node", f.node},
                     {"name", f.file.name},
                     {"kind", f.file.kind},
                     {"worker", f.file.worker},
                     {"pid", f.file.pid},
                     {"job", f.file.job},
                     {"size", f.file.size}});
    std::cout << out.dump() << "\n";
    return 0;
  }
  table t;
  t.rows.push_back({"NODE", "FILE", "KIND", "PID", "SIZE"});
  for (auto& f : files)
    t.rows.push_back({std::to_string(f.node), f.file.name, f.file.kind,
                      f.file.pid ? std::to_string(f.file.pid) : "", std::to_string(f.file.size)});
  t.print();
  return 0;
}

/// Prints `files` (`--tail`, then `--follow`), each under a header when
/// there are several.
int print_files(cli_session& s, const std::vector<node_file>& files, const logs_options& o) {
  std::vector<std::uint64_t> offsets;
  for (auto& f : files) {
    if (files.size() > 1)
      std::cout << "==> node " << f.node << ": " << f.file.name << " <==\n";
    std::uint64_t end = 0;
    if (o.tail >= 0) {
      std::cout << read_tail(s, f, static_cast<std::size_t>(o.tail), end);
    } else {
      auto text = read_all(s, f);
      end = text.size();
      std::cout << without_markers(text);
    }
    offsets.push_back(end);
  }
  std::cout.flush();
  while (o.follow) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500)); // a remote tail -f
    for (std::size_t i = 0; i < files.size(); ++i) {
      auto more = read_all(s, files[i], offsets[i]);
      offsets[i] += more.size();
      std::cout << without_markers(more) << std::flush;
    }
  }
  return 0;
}

/// The worker files of the actor named `o.actor`.
std::vector<node_file> actor_files(cli_session& s, const logs_options& o) {
  auto status = from_json_text<control_store_status>(
    s.ask<std::string>("the control store", s.control(), status_atom::value));
  const actor_row* found = nullptr;
  for (auto& a : status.actors)
    if (a.name == o.actor && a.name_space == o.name_space
        && (!found || a.state != "dead"))
      found = &a;
  if (!found)
    throw std::runtime_error("no actor named '" + o.actor + "' in namespace '"
                             + o.name_space + "'");
  if (found->worker == 0)
    throw std::runtime_error("actor '" + o.actor + "' has no worker yet (" + found->state + ")");
  std::vector<node_file> mine;
  for (auto& f : cluster_files(s, node_of_worker(found->worker)))
    if (f.file.kind == "worker" && f.file.worker == found->worker && f.file.stream != "log")
      mine.push_back(std::move(f));
  return mine;
}

int print_task(cli_session& s, const logs_options& o) {
  bool any = false;
  for (auto& f : cluster_files(s, o.node)) {
    if (f.file.kind != "worker" || f.file.stream == "log")
      continue;
    auto lines = lines_of_task(read_all(s, f), o.task);
    if (lines.empty())
      continue;
    any = true;
    std::cout << "==> node " << f.node << ": " << f.file.name << " <==\n";
    std::cout << (o.tail >= 0 ? last_lines(lines, static_cast<std::size_t>(o.tail)) : lines);
  }
  if (!any)
    std::cerr << "troupe logs: no worker file has output of task " << o.task
              << " (a task that wrote nothing has none)\n";
  return any ? 0 : 1;
}

int run(cli_session& s, const logs_options& o) {
  if (o.task != 0)
    return print_task(s, o);
  if (!o.actor.empty())
    return print_files(s, actor_files(s, o), o);
  if (o.file.empty())
    return list_files(s, o);
  std::vector<node_file> named;
  for (auto& f : cluster_files(s, o.node))
    if (f.file.name == o.file)
      named.push_back(std::move(f));
  if (named.empty())
    throw std::runtime_error("no log file '" + o.file + "'"
                             + (o.node ? " on node " + std::to_string(o.node) : "")
                             + " (troupe logs lists them)");
  if (named.size() > 1) {
    std::string nodes;
    for (auto& f : named)
      nodes += " " + std::to_string(f.node);
    throw std::runtime_error("nodes" + nodes + " each have a file '" + o.file
                             + "': say which with --node");
  }
  return print_files(s, named, o);
}

} // namespace

std::string without_markers(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for_each_line(text, [&](std::string_view line, bool marker, const auto&) {
    if (!marker)
      out.append(line);
  });
  return out;
}

std::string lines_of_task(std::string_view text, std::uint64_t task) {
  std::string out;
  bool in = false;
  for_each_line(text, [&](std::string_view line, bool marker, const auto& src) {
    if (marker)
      in = src.task == task;
    else if (in)
      out.append(line);
  });
  return out;
}

std::string last_lines(std::string_view text, std::size_t n) {
  auto at = text.size();
  if (at > 0 && text[at - 1] == '\n')
    --at; // the last line's own newline
  for (std::size_t seen = 0; at > 0; --at)
    if (text[at - 1] == '\n' && ++seen == n)
      break;
  return n == 0 ? std::string{} : std::string{text.substr(at)};
}

int run_logs(const logs_options& opts) {
  if (opts.follow && opts.task != 0) {
    std::cerr << "troupe logs: --follow goes with a file or --actor, not --task\n";
    return 2;
  }
  return run_on_cluster("logs", opts.address, [&](cli_session& s) { return run(s, opts); });
}

} // namespace troupe::tools
