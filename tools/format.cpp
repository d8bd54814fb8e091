#include "tools/format.hpp"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace troupe::tools {

std::string format_number(double x) {
  std::ostringstream out;
  if (x == static_cast<double>(static_cast<long long>(x)))
    out << static_cast<long long>(x);
  else
    out << x;
  return out.str();
}

void table::print() const {
  std::vector<std::size_t> width;
  for (auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      width.resize(std::max(width.size(), r.size()));
      width[i] = std::max(width[i], r[i].size());
    }
  for (auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i)
      std::cout << (i ? "  " : "") << std::left
                << std::setw(static_cast<int>(i + 1 < r.size() ? width[i] : 0)) << r[i];
    std::cout << "\n";
  }
}

} // namespace troupe::tools
