#pragma once

// A ResultBatch from a worker, read into plain values, and the store pins
// that came with them taken (submitter_results.cpp acts on them).

#include <cstdint>
#include <utility>
#include <vector>

#include "lib/core/submitter.hpp"

namespace troupe::detail {

/// One entry of a ResultBatch, read: a task's end, or a streamed item.
struct parsed_result {
  std::uint64_t task_id = 0;
  std::uint64_t exec_ns = 0;
  bool ok = false;
  stored_value value;
  std::vector<stored_value> extra;
  error_info error;
  std::uint64_t item_index = 0; ///< an item: its index; 0: the task's end
  object_id stream;
  std::uint64_t item_count = 0;
  /// Refs inside the values: (the ref, the object whose value holds it).
  std::vector<std::pair<object_id, object_id>> nested;
  object_id lost_argument; ///< an object_lost error: the argument it names
  bool lost_item = false;   ///< an item whose object was freed before it came
};

/// Reads every entry of a ResultBatch. Throws `error` (protocol) when the
/// batch is malformed anywhere.
std::vector<parsed_result> parse_results(const std::vector<char>& bytes);

/// Takes the pins handed over with a result's values before anything else
/// is done with them (a duplicate's are then released as ours). A value
/// whose object is gone makes the result an object_lost error, or drops an
/// item (`lost_item`).
void adopt_values(submitter_io& io, object_table& table, parsed_result& p);

} // namespace troupe::detail
