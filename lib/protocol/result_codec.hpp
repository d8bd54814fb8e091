#pragma once

// A ResultBatch from a worker, read into plain values. The bytes come from
// another process: anything malformed is a protocol error, never a read past
// them (tests/fuzz/result_batch).

#include <cstdint>
#include <utility>
#include <vector>

#include "lib/protocol/messages.hpp"
#include "lib/protocol/stored_value.hpp"

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

/// Reads every entry of a ResultBatch, or of several back to back (a light
/// actors' host sends those of many actors so, result_outbox.hpp). Throws
/// `error` (protocol) when a batch is malformed anywhere.
std::vector<parsed_result> parse_results(const std::vector<char>& bytes);

/// The same into `out` (cleared first), which keeps its capacity: a caller
/// reading batch after batch does not ask malloc for a large block each time
/// (which makes glibc consolidate its small free chunks first).
void parse_results(const std::vector<char>& bytes, std::vector<parsed_result>& out);

} // namespace troupe::detail
