#pragma once

// Writers for the small JSON documents the system actors describe themselves
// with (`troupe status` and `troupe list` read them).

#include <sstream>
#include <string>

#include "lib/protocol/messages.hpp"

namespace troupe::detail {

/// Returns `s` as a JSON string: quotes and backslashes escaped, control
/// characters replaced by spaces.
inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  }
  return out + '"';
}

/// Returns resources as a JSON object, e.g. `{"CPU":2,"GPU":0.5}`.
inline std::string json_object(const resource_map& rs) {
  std::ostringstream out;
  out << '{';
  bool first = true;
  for (auto& [name, amount] : rs) {
    out << (first ? "" : ",") << json_string(name) << ':' << amount;
    first = false;
  }
  out << '}';
  return out.str();
}

} // namespace troupe::detail
