#pragma once

// How the CLI prints numbers and tables.

#include <string>
#include <vector>

namespace troupe::tools {

/// Returns a number as people read it: whole numbers (ids, counts, bytes)
/// in full, others with up to six significant digits.
std::string format_number(double x);

/// A table: a header row and rows of cells, printed in aligned columns.
struct table {
  std::vector<std::vector<std::string>> rows;

  /// Prints it on stdout.
  void print() const;
};

} // namespace troupe::tools
