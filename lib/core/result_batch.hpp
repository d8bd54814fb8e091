#pragma once

// The store pins that came with a ResultBatch's values, taken
// (submitter_results.cpp acts on the results).

#include <cstdint>
#include <utility>
#include <vector>

#include "lib/core/submitter.hpp"
#include "lib/protocol/result_codec.hpp"

namespace troupe::detail {

/// Takes the pins handed over with a result's values before anything else
/// is done with them (a duplicate's are then released as ours). A value
/// whose object is gone makes the result an object_lost error, or drops an
/// item (`lost_item`).
void adopt_values(submitter_io& io, object_table& table, parsed_result& p);

} // namespace troupe::detail
