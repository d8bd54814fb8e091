// The envelope's actor parts: light actors by the hundred thousand, and how
// many process actors this machine holds.
#include "tools/envelope.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include <troupe/troupe.hpp>

#include "tools/bench_support.hpp"

namespace troupe::tools {

/// The envelope's actor: a counter of 8 bytes.
class envelope_cell {
public:
  std::int64_t touch() { return ++calls_; }
  int pid() const { return static_cast<int>(::getpid()); }

private:
  std::int64_t calls_ = 0;
};

std::unique_ptr<envelope_cell> make_envelope_cell() {
  return std::make_unique<envelope_cell>();
}
TROUPE_REMOTE(make_envelope_cell);
TROUPE_REMOTE(&envelope_cell::touch);
TROUPE_REMOTE(&envelope_cell::pid);

namespace envelope {

namespace {

using bench::clock_type;
using bench::seconds_since;
using namespace std::chrono_literals;
using cell = troupe::actor_handle<envelope_cell>;

/// Calls `touch` once on each of `cells[from..]` and checks every answer.
void touch_all(const std::vector<cell>& cells, std::size_t from, std::int64_t expect) {
  std::vector<troupe::object_ref<std::int64_t>> refs;
  refs.reserve(cells.size() - from);
  for (auto i = from; i < cells.size(); ++i)
    refs.push_back(cells[i].task(&envelope_cell::touch).remote());
  for (auto v : troupe::get(refs, 600s))
    if (v != expect)
      throw std::runtime_error("an actor answered " + std::to_string(v) + ", not "
                               + std::to_string(expect));
}

/// Returns the host pids of `cells` (asked of each).
std::vector<int> host_pids(const std::vector<cell>& cells) {
  std::vector<troupe::object_ref<int>> refs;
  for (auto& c : cells)
    refs.push_back(c.task(&envelope_cell::pid).remote());
  auto pids = troupe::get(refs, 600s);
  std::set<int> unique(pids.begin(), pids.end());
  return {unique.begin(), unique.end()};
}

/// Memory of the parts of a cluster, in bytes.
struct footprint {
  std::size_t hosts = 0;
  std::size_t driver = 0;
  std::size_t rest = 0; ///< node daemon and idle workers

  static footprint now(const std::vector<int>& host_pids) {
    footprint f;
    f.hosts = rss_sum(host_pids);
    f.driver = rss_of(static_cast<int>(::getpid()));
    f.rest = rss_sum(descendants()) - f.hosts;
    return f;
  }
};

/// Creates light actors up to `n` in `cells`, each called once.
void grow(std::vector<cell>& cells, std::size_t n, const troupe::actor_options& o) {
  auto from = cells.size();
  cells.reserve(n);
  while (cells.size() < n)
    cells.push_back(troupe::actor(make_envelope_cell, o).remote());
  touch_all(cells, from, 1);
}

void per_actor_rows(const std::string& at, std::size_t n, const footprint& base,
                    const footprint& f, std::vector<envelope_row>& out) {
  auto per = [&](std::size_t a, std::size_t b) {
    return (static_cast<double>(a) - static_cast<double>(b)) / static_cast<double>(n);
  };
  out.push_back({"light_actor_host_bytes_each_" + at, per(f.hosts, base.hosts), "B",
                 "host processes' PSS growth / actors (the class holds 8 B)"});
  out.push_back({"light_actor_driver_bytes_each_" + at, per(f.driver, base.driver), "B",
                 "the creating driver: handle, submitter entry, proxy"});
  out.push_back({"light_actor_head_bytes_each_" + at, per(f.rest, base.rest), "B",
                 "node daemon (head: the actor directory)"});
}

} // namespace

void light_actors(const envelope_options& opts, std::vector<envelope_row>& out) {
  auto n = opts.quick ? opts.actors / 10 : opts.actors;
  troupe::init();
  troupe::actor_options o;
  o.isolation = troupe::actor_isolation::shared;
  std::vector<cell> cells;
  grow(cells, 16, o); // the hosts are up
  auto hosts = host_pids(cells);
  auto base = footprint::now(hosts);
  auto t0 = clock_type::now();
  grow(cells, n / 10, o);
  auto tenth = footprint::now(hosts);
  grow(cells, n, o);
  auto took = seconds_since(t0);
  auto full = footprint::now(hosts);
  out.push_back({"light_actors_created", static_cast<double>(cells.size()), "actors",
                 std::to_string(hosts.size()) + " host processes"});
  out.push_back({"light_actor_creations_per_s", static_cast<double>(n - 16) / took, "/s",
                 "created and each called once, then all got"});
  per_actor_rows(std::to_string(n / 10), n / 10 - 16, base, tenth, out);
  per_actor_rows(std::to_string(n), n - 16, base, full, out);
  // Calls to random actors, all submitted, then all got: the median round.
  std::mt19937_64 rng{42};
  std::uniform_int_distribution<std::size_t> pick{0, cells.size() - 1};
  auto calls = std::max<std::size_t>(n, 100'000);
  std::vector<troupe::object_ref<std::int64_t>> refs;
  refs.reserve(calls);
  std::vector<std::pair<double, double>> rounds; // calls/s, submissions/s
  for (std::size_t round = 0; round < opts.call_rounds; ++round) {
    refs.clear();
    t0 = clock_type::now();
    for (std::size_t i = 0; i < calls; ++i)
      refs.push_back(cells[pick(rng)].task(&envelope_cell::touch).remote());
    auto submitted = seconds_since(t0);
    std::int64_t sum = 0;
    for (auto v : troupe::get(refs, 600s))
      sum += v;
    if (sum <= static_cast<std::int64_t>(calls))
      throw std::runtime_error("random calls: the actors' counts do not add up");
    auto d = static_cast<double>(calls);
    rounds.emplace_back(d / seconds_since(t0), d / submitted);
  }
  std::sort(rounds.begin(), rounds.end());
  auto median = rounds[rounds.size() / 2];
  auto of = std::to_string(rounds.size()) + " rounds";
  out.push_back({"light_actor_random_calls_per_s", median.first, "/s",
                 std::to_string(calls) + " async calls to random actors (seed 42), then get; "
                   + "median of " + of});
  out.push_back({"light_actor_random_call_submissions_per_s", median.second, "/s",
                 "the same calls, until submitted (that round)"});
  refs.clear();
  cells.clear();
  troupe::shutdown();
}

void process_actors(const envelope_options& opts, std::vector<envelope_row>& out) {
  troupe::init();
  troupe::actor_options o;
  o.isolation = troupe::actor_isolation::process;
  auto t0 = clock_type::now();
  std::vector<cell> cells;
  for (std::size_t i = 0; i < opts.process_actors; ++i)
    cells.push_back(troupe::actor(make_envelope_cell, o).remote());
  touch_all(cells, 0, 1);
  auto took = seconds_since(t0);
  auto pids = host_pids(cells);
  if (pids.size() != cells.size())
    throw std::runtime_error("process actors share a process");
  auto each = static_cast<double>(rss_sum(pids)) / static_cast<double>(cells.size());
  out.push_back({"process_actor_creations_per_s", static_cast<double>(cells.size()) / took,
                 "/s", "each a worker process of its own"});
  out.push_back({"process_actor_bytes_each", each, "B", "PSS of each actor's process"});
  auto avail = static_cast<double>(::sysconf(_SC_AVPHYS_PAGES))
               * static_cast<double>(::sysconf(_SC_PAGESIZE));
  out.push_back({"process_actors_that_fit", each > 0 ? avail / each : 0, "actors",
                 "available memory / bytes each (one thread each too)"});
  cells.clear();
  troupe::shutdown();
}

} // namespace envelope

} // namespace troupe::tools
