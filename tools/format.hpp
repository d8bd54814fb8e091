#pragma once

// How the CLI prints numbers.

#include <string>

namespace troupe::tools {

/// Returns a number as people read it: whole numbers (ids, counts, bytes)
/// in full, others with up to six significant digits.
std::string format_number(double x);

} // namespace troupe::tools
