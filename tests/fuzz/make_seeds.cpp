// Writes the seed corpus of every fuzz target: valid inputs made with the
// same encoders troupe uses, plus the inputs that once broke something.
// Usage: make_seeds DIR (writes DIR/<target>/<seed>). The seeds are kept in
// the repository (tests/fuzz/corpus); run this again after a schema change.

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>
#include <flatbuffers/flatbuffers.h>

#include "actors/head_codec.hpp"
#include "lib/net/credentials.hpp"
#include "lib/protocol/atoms.hpp"
#include "lib/protocol/capnp_codec.hpp"
#include "lib/protocol/messages.hpp"
#include "lib/protocol/metrics_codec.hpp"
#include "object_meta_generated.h"

namespace fs = std::filesystem;
using namespace troupe;
using namespace troupe::detail;

namespace {

fs::path out_dir;

void write(const std::string& target, const std::string& name, const std::string& bytes) {
  auto dir = out_dir / target;
  fs::create_directories(dir);
  std::ofstream{dir / name, std::ios::binary}.write(bytes.data(),
                                                    static_cast<std::streamsize>(bytes.size()));
}

std::string str(const std::vector<char>& v) { return {v.begin(), v.end()}; }

// --- BASP frames --------------------------------------------------------------

std::string frame(std::uint8_t op, std::uint32_t payload, std::uint64_t op_data = 0) {
  std::string h(32, '\0');
  h[0] = static_cast<char>(op);
  for (int i = 0; i < 4; ++i)
    h[static_cast<std::size_t>(4 + i)] = static_cast<char>(payload >> (24 - 8 * i));
  for (int i = 0; i < 8; ++i)
    h[static_cast<std::size_t>(8 + i)] = static_cast<char>(op_data >> (56 - 8 * i));
  return h + std::string(payload, 'p');
}

void frame_seeds() {
  // Settings byte: bit 0 accepted; bits 1-7 the chunk size less one.
  write("frame_guard", "accepted_handshake_heartbeat",
        std::string(1, '\x01') + frame(1, 24) + frame(6, 0) + frame(2, 40));
  write("frame_guard", "opened_handshake_message",
        std::string(1, '\x0e') + frame(0, 60) + frame(1, 20) + frame(2, 100) + frame(6, 0));
  // The 52-byte frame that killed a node (issue 12): a server handshake
  // without payload (2^31 falls in the operation data).
  std::string crash(52, '\0');
  crash[8] = '\x80';
  write("frame_guard", "crash_frame_52_bytes", std::string(1, '\x00') + crash);
  write("frame_guard", "oversized", std::string(1, '\x01') + frame(1, 5000));
  write("frame_guard", "unknown_operation", std::string(1, '\x03') + frame(1, 8) + frame(9, 8));
}

// --- tokens -------------------------------------------------------------------

void token_seeds() {
  auto t = net::cluster_token::generate().text();
  write("token", "valid", t);
  auto bad = t;
  bad[20] = 'g';
  write("token", "not_hex", bad);
  write("token", "short", t.substr(0, 30));
  write("token", "no_prefix", t.substr(5));
}

// --- Cap'n Proto batches ------------------------------------------------------

stored_value inline_value(const std::string& bytes) {
  stored_value v;
  v.type_hash = 0x1234;
  v.type_name = "std::string";
  v.inline_data = std::make_shared<const std::vector<char>>(bytes.begin(), bytes.end());
  return v;
}

stored_value store_value() {
  stored_value v;
  v.enc = encoding::raw_array;
  v.type_hash = 0x5678;
  v.type_name = "std::vector<double>";
  v.in_store = true;
  v.offset = 4096;
  v.size = 800;
  v.node = 2;
  v.id = {7, 9};
  v.transit = true;
  return v;
}

void batch_seeds() {
  capnp::MallocMessageBuilder tb;
  auto tasks = tb.initRoot<schema::TaskBatch>().initTasks(2);
  tasks[0].setTaskId(1);
  tasks[0].setFunction("add");
  tasks[0].setName("add");
  write_object_id(tasks[0].initReturnId(), {3, 1});
  auto args = tasks[0].initArgs(2);
  write_value(args[0], inline_value("hello"));
  write_value(args[1], store_value());
  tasks[1].setTaskId(2);
  tasks[1].setFunction("Counter::Counter");
  tasks[1].setName("Counter");
  write_object_id(tasks[1].initReturnId(), {3, 2});
  write_object_id(tasks[1].initActorId(), {3, 3});
  write_object_id(tasks[1].initExtraReturnIds(1)[0], {3, 4});
  tasks[1].setMaxConcurrency(4);
  tasks[1].setBackpressure(8);
  tasks[1].setRestarts(1);
  write("task_batch", "two_tasks", str(to_bytes(tb)));

  capnp::MallocMessageBuilder rb;
  auto results = rb.initRoot<schema::ResultBatch>().initResults(3);
  results[0].setTaskId(1);
  write_value(results[0].initValue(), inline_value("42"));
  results[0].setExecNanos(1000);
  auto nested = results[0].initNested(1);
  write_object_id(nested[0].initObject(), {5, 1});
  write_object_id(nested[0].initHeldBy(), {3, 1});
  results[1].setTaskId(2);
  write_error(results[1].initError(), {error_kind::object_lost, "f", "", "gone"});
  write_object_id(results[1].initLostArgument(), {7, 9});
  results[2].setTaskId(3);
  write_value(results[2].initValue(), store_value());
  results[2].setItemIndex(2);
  write_object_id(results[2].initStream(), {3, 7});
  write_value(results[2].initExtraValues(1)[0], inline_value("x"));
  write("result_batch", "three_results", str(to_bytes(rb)));
}

// --- head records -------------------------------------------------------------

void record_seeds() {
  auto put = [](const char* name, char which, const std::string& bytes) {
    write("head_records", name, std::string(1, which) + bytes);
  };
  node_info n;
  n.node_id = 2;
  n.host = "10.0.0.2";
  n.port = 7000;
  n.segment = "/troupe-2";
  n.store_capacity = 1 << 30;
  n.total = {{"CPU", 8.0}, {"GPU", 1.0}};
  put("node", 0, encode_node(n));
  job_record j;
  j.id = 3;
  j.pid = 1234;
  j.exe = "/usr/bin/app";
  j.exe_hash = "abc";
  put("job", 1, encode_job(j));
  actor_entry a;
  a.rec.id = {3, 5};
  a.rec.class_name = "Counter";
  a.rec.name = "counter";
  a.rec.max_restarts = 2;
  a.restarts = 1;
  a.kill_reason = "asked";
  put("actor", 2, encode_actor(a));
  group_spec g;
  g.id = 4;
  g.bundles = {{{"CPU", 1.0}}, {{"CPU", 2.0}}};
  group_state s;
  s.id = 4;
  s.state = group_state::placed;
  s.nodes = {1, 2};
  put("group", 3, encode_group(g, s));
  put("counters", 4, encode_counters(17));
  put("group_counter", 5, encode_group_counter(5));
}

// --- object metadata ----------------------------------------------------------

void meta_seeds() {
  flatbuffers::FlatBufferBuilder fbb;
  auto name = fbb.CreateString("std::vector<double>");
  store::fb::object_id id{7, 9};
  std::uint64_t data_size = 800;
  fbb.Finish(store::fb::Createobject_meta(fbb, &id, data_size, 0x5678, name,
                                          store::fb::encoding::raw_array, 1700000000, 42));
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &data_size, 8);
  bytes.append(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  write("object_meta", "raw_array", bytes);
}

// --- CAF messages -------------------------------------------------------------

void message_seeds() {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  cfg.set("scheduler.max-threads", 1);
  caf::actor_system sys{cfg};
  auto put = [&](const char* name, const caf::message& m) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    auto copy = m;
    if (auto err = sink(copy)) {
      std::fprintf(stderr, "cannot write seed %s\n", name);
      std::exit(1);
    }
    write("caf_message", name, str(buf));
  };
  put("push_batch", caf::make_message(push_atom::value, std::vector<char>{'a', 'b'}));
  put("object_id", caf::make_message(object_id{1, 2}));
  put("error_info", caf::make_message(error_info{error_kind::runtime, "f", "std::exception",
                                                 "boom"}));
  node_info n;
  n.host = "h";
  n.total = {{"CPU", 2.0}};
  put("node_info", caf::make_message(n));
  put("pull_request", caf::make_message(pull_atom::value, pull_request{{1, 2}, 3, 4096}));
  group_spec g;
  g.bundles = {{{"CPU", 1.0}}};
  put("group_spec", caf::make_message(g, group_state{}));
}

// --- metric families ----------------------------------------------------------

void metric_seeds() {
  prometheus::MetricFamily counter{"app_requests_total", "requests",
                                   prometheus::MetricType::Counter, {}};
  prometheus::ClientMetric c;
  c.label = {{"route", "/a"}, {"pid", "7"}};
  c.counter.value = 3;
  counter.metric.push_back(c);
  prometheus::MetricFamily hist{"troupe_task_duration_seconds", "durations",
                                prometheus::MetricType::Histogram, {}};
  prometheus::ClientMetric h;
  h.label = {{"name", "f"}};
  h.histogram.sample_count = 2;
  h.histogram.sample_sum = 0.3;
  h.histogram.bucket = {{1, 0.1}, {2, 1}};
  hist.metric.push_back(h);
  auto bytes = encode_metrics({counter, hist});
  write("metric_families", "counter_and_histogram", std::string(bytes.begin(), bytes.end()));
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  out_dir = argv[1];
  frame_seeds();
  token_seeds();
  batch_seeds();
  record_seeds();
  meta_seeds();
  message_seeds();
  metric_seeds();
  std::printf("seeds written to %s\n", argv[1]);
  return 0;
}
