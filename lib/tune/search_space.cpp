#include "troupe/tune/search_space.hpp"

#include <cmath>
#include <random>
#include <sstream>
#include <stdexcept>

namespace troupe::tune {

const value& config::at(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end())
    throw std::out_of_range("troupe::tune: the config has no \"" + name + "\" (it has: "
                            + to_string() + ")");
  return it->second;
}

double config::number(const std::string& name) const {
  auto& v = at(name);
  if (v.is_text)
    throw std::invalid_argument("troupe::tune: \"" + name + "\" is the text \"" + v.text
                                + "\", not a number");
  return v.number;
}

std::int64_t config::integer(const std::string& name) const {
  return std::llround(number(name));
}

const std::string& config::text(const std::string& name) const {
  auto& v = at(name);
  if (!v.is_text)
    throw std::invalid_argument("troupe::tune: \"" + name + "\" is a number, not a text");
  return v.text;
}

std::string config::to_string() const {
  std::ostringstream out;
  out.precision(4);
  bool first = true;
  for (auto& [name, v] : values_) {
    out << (first ? "" : " ") << name << '=';
    if (v.is_text)
      out << v.text;
    else
      out << v.number;
    first = false;
  }
  return out.str();
}

namespace {

domain listed(domain::kind k, std::vector<value> values, const char* what) {
  if (values.empty())
    throw std::invalid_argument(std::string{"troupe::tune::"} + what + ": no values given");
  return {k, 0, 0, std::move(values)};
}

domain bounded(domain::kind k, double lo, double hi, const char* what) {
  if (!(lo < hi))
    throw std::invalid_argument(std::string{"troupe::tune::"} + what + ": lower bound "
                                + std::to_string(lo) + " is not below upper bound "
                                + std::to_string(hi));
  return {k, lo, hi, {}};
}

value draw(const domain& d, std::mt19937_64& rng) {
  switch (d.k) {
    case domain::kind::choice:
      return d.values[std::uniform_int_distribution<std::size_t>(0, d.values.size() - 1)(rng)];
    case domain::kind::uniform:
      return std::uniform_real_distribution<double>(d.lo, d.hi)(rng);
    case domain::kind::loguniform:
      return std::exp(
        std::uniform_real_distribution<double>(std::log(d.lo), std::log(d.hi))(rng));
    case domain::kind::randint:
      return static_cast<double>(std::uniform_int_distribution<std::int64_t>(
        static_cast<std::int64_t>(d.lo), static_cast<std::int64_t>(d.hi) - 1)(rng));
    case domain::kind::grid:
      break;
  }
  throw std::logic_error("troupe::tune: a grid is not drawn");
}

} // namespace

domain grid(std::vector<value> values) {
  return listed(domain::kind::grid, std::move(values), "grid");
}

domain choice(std::vector<value> values) {
  return listed(domain::kind::choice, std::move(values), "choice");
}

domain uniform(double lo, double hi) {
  return bounded(domain::kind::uniform, lo, hi, "uniform");
}

domain loguniform(double lo, double hi) {
  if (lo <= 0)
    throw std::invalid_argument("troupe::tune::loguniform: the lower bound must be above 0");
  return bounded(domain::kind::loguniform, lo, hi, "loguniform");
}

domain randint(std::int64_t lo, std::int64_t hi) {
  return bounded(domain::kind::randint, static_cast<double>(lo), static_cast<double>(hi),
                 "randint");
}

std::vector<config> generate_configs(const search_space& space, int num_samples,
                                     std::uint64_t seed) {
  // The grids' product, as lists of (name, value).
  std::vector<std::map<std::string, value>> grid_points{{}};
  for (auto& [name, d] : space) {
    if (d.k != domain::kind::grid)
      continue;
    if (d.values.empty())
      throw std::invalid_argument("troupe::tune::grid \"" + name + "\": no values");
    std::vector<std::map<std::string, value>> next;
    for (auto& point : grid_points)
      for (auto& v : d.values) {
        auto p = point;
        p[name] = v;
        next.push_back(std::move(p));
      }
    grid_points = std::move(next);
  }
  std::mt19937_64 rng(seed);
  std::vector<config> out;
  for (int s = 0; s < num_samples; ++s)
    for (auto& point : grid_points) {
      auto values = point;
      for (auto& [name, d] : space)
        if (d.k != domain::kind::grid)
          values[name] = draw(d, rng);
      out.emplace_back(std::move(values));
    }
  return out;
}

} // namespace troupe::tune
