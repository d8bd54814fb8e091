#include "lib/core/result_batch.hpp"

#include <spdlog/spdlog.h>

namespace troupe::detail {

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
