#include "scheduler/resources.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace troupe::sched {

namespace {
constexpr double epsilon = 1e-9;
} // namespace

bool fits(const resource_map& available, const resource_map& request) noexcept {
  for (auto& [name, amount] : request) {
    if (amount <= 0)
      continue;
    auto it = available.find(name);
    if (it == available.end() || it->second + epsilon < amount)
      return false;
  }
  return true;
}

void take(resource_map& pool, const resource_map& request) {
  for (auto& [name, amount] : request)
    pool[name] -= amount;
}

void give(resource_map& pool, const resource_map& request) {
  for (auto& [name, amount] : request)
    pool[name] += amount;
}

std::string format_amount(const std::string& name, double amount) {
  std::ostringstream out;
  if (name == "memory" && amount >= 1e6) {
    out.precision(3);
    out << amount / 1e9 << " GB";
  } else {
    out << amount;
  }
  return out.str();
}

std::string to_string(const resource_map& rs) {
  std::ostringstream out;
  out << '{';
  bool first = true;
  for (auto& [name, amount] : rs) {
    out << (first ? "" : ", ") << name << ": " << format_amount(name, amount);
    first = false;
  }
  out << '}';
  return out.str();
}

void throw_bad_amount(std::string_view name, double amount, std::string_view what) {
  std::ostringstream text;
  text << what << ": resource '" << name << "' has amount " << amount
       << "; amounts must be finite and non-negative";
  throw std::invalid_argument(text.str());
}

resource_map parse_resources(const std::string& text) {
  resource_map out;
  std::istringstream in{text};
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty())
      continue;
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("resource '" + item + "' is not NAME=AMOUNT");
    try {
      std::size_t used = 0;
      auto value = std::stod(item.substr(eq + 1), &used);
      if (used != item.size() - eq - 1 || !std::isfinite(value) || value < 0)
        throw std::invalid_argument("");
      out[item.substr(0, eq)] = value;
    } catch (const std::exception&) {
      throw std::invalid_argument("resource '" + item
                                  + "' has no valid finite, non-negative amount");
    }
  }
  return out;
}

} // namespace troupe::sched
