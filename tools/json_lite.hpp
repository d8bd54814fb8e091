#pragma once

// A small JSON reader for the status documents the system actors send
// (Debian's packages offer no C++ JSON library we already depend on).

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::tools {

/// One JSON value; objects keep their keys sorted.
struct json_value {
  enum class kind { null, boolean, number, string, array, object };
  kind type = kind::null;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<json_value> items;
  std::map<std::string, json_value> members;

  /// Returns member `key`, or a null value if there is none (also when this
  /// is not an object), so that lookups chain: `v["a"]["b"].num()`.
  const json_value& operator[](const std::string& key) const;

  /// Returns the number, or `fallback` if this is not a number.
  [[nodiscard]] double num(double fallback = 0) const {
    return type == kind::number ? number : fallback;
  }
};

/// Returns a number as people read it: whole numbers (ids, counts, bytes)
/// in full, others with up to six significant digits.
std::string format_number(double x);

/// Parses `text`; throws `std::runtime_error` naming the offset of an error.
json_value parse_json(std::string_view text);

} // namespace troupe::tools
