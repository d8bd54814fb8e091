#include "lib/core/result_batch.hpp"

#include <spdlog/spdlog.h>

#include "lib/protocol/capnp_codec.hpp"

namespace troupe::detail {

std::vector<parsed_result> parse_results(const std::vector<char>& bytes) {
  std::vector<parsed_result> results;
  message_reader reader{bytes};
  try {
    for (auto r : reader.root<schema::ResultBatch>().getResults()) {
      parsed_result p;
      p.task_id = r.getTaskId();
      p.exec_ns = r.getExecNanos();
      p.ok = r.isValue();
      if (p.ok)
        p.value = read_value(r.getValue());
      else
        p.error = read_error(r.getError());
      for (auto v : r.getExtraValues())
        p.extra.push_back(read_value(v));
      p.item_index = r.getItemIndex();
      if (p.item_index != 0)
        p.stream = read_object_id(r.getStream());
      p.item_count = r.getItemCount();
      if (r.hasLostArgument())
        p.lost_argument = read_object_id(r.getLostArgument());
      for (auto n : r.getNested())
        p.nested.emplace_back(read_object_id(n.getObject()), read_object_id(n.getHeldBy()));
      results.push_back(std::move(p));
    }
  } catch (const kj::Exception& e) {
    message_reader::throw_malformed(e.getDescription().cStr());
  }
  return results;
}

void adopt_values(submitter_io& io, object_table& table, parsed_result& p) {
  // Called for every result: nothing is allocated unless a value is lost.
  bool lost = false;
  auto take = [&](stored_value& v) {
    if (!io.adopt(v)) {
      lost = true;
      v = {}; // holds no pin: discarding it below releases nothing
    }
  };
  if (p.ok)
    take(p.value);
  for (auto& v : p.extra)
    take(v);
  if (!lost)
    return;
  // The worker died after answering, and its node dropped its holds before
  // this answer was read (the store manager drops them 2-4 s after).
  spdlog::warn("a result stored by a worker that died was freed before it was taken");
  if (p.ok)
    table.discard(p.value);
  for (auto& v : p.extra)
    table.discard(v);
  if (p.item_index != 0) {
    p.lost_item = true;
    return;
  }
  p.ok = false;
  p.value = {};
  p.extra.clear();
  p.error = {error_kind::object_lost, "", "",
             "the task's result was freed before it arrived: the worker that stored it died"};
}

} // namespace troupe::detail
