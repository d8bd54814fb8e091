#include "tools/format.hpp"

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

} // namespace troupe::tools
