#pragma once

// The search space of `troupe::tune`: each hyperparameter's domain, and the
// configs a search tries (a grid's every value, the rest sampled).

#include <concepts>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace troupe::tune {

/// A hyperparameter's value: a number or a text.
struct value {
  double number = 0;
  std::string text;
  bool is_text = false;

  value() = default;
  value(double x) : number(x) {}                                  // NOLINT
  template <std::integral I>
  value(I x) : number(static_cast<double>(x)) {}                  // NOLINT
  value(const char* s) : text(s), is_text(true) {}                // NOLINT
  value(std::string s) : text(std::move(s)), is_text(true) {}     // NOLINT

  friend bool operator==(const value&, const value&) = default;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, value& x) {
    return f(caf::meta::type_name("troupe.tune.value"), x.number, x.text, x.is_text);
  }
};

/// The hyperparameters of one trial, by name.
class config {
public:
  config() = default;
  explicit config(std::map<std::string, value> values) : values_(std::move(values)) {}

  /// Returns a number; throws `std::out_of_range` naming `name` if there is
  /// none, `std::invalid_argument` if it is a text.
  [[nodiscard]] double number(const std::string& name) const;
  /// Returns a number as an integer (rounded).
  [[nodiscard]] std::int64_t integer(const std::string& name) const;
  /// Returns a text; throws as `number` does.
  [[nodiscard]] const std::string& text(const std::string& name) const;
  [[nodiscard]] const std::map<std::string, value>& values() const noexcept { return values_; }
  /// Returns "name=value name=value".
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const config&, const config&) = default;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, config& x) {
    return f(caf::meta::type_name("troupe.tune.config"), x.values_);
  }

private:
  const value& at(const std::string& name) const;
  std::map<std::string, value> values_;
};

/// Where a hyperparameter's values come from.
struct domain {
  enum class kind : std::uint8_t { grid, choice, uniform, loguniform, randint };
  kind k = kind::uniform;
  double lo = 0;
  double hi = 0;
  std::vector<value> values; ///< grid and choice
};

/// Every one of `values`, in every sample (the grids' cartesian product).
domain grid(std::vector<value> values);
/// One of `values`, at random.
domain choice(std::vector<value> values);
/// A number in [lo, hi), uniformly.
domain uniform(double lo, double hi);
/// A number in [lo, hi), uniform in its logarithm (0 < lo < hi).
domain loguniform(double lo, double hi);
/// An integer in [lo, hi).
domain randint(std::int64_t lo, std::int64_t hi);

/// The hyperparameters, by name.
using search_space = std::map<std::string, domain>;

/// Returns the configs of a search: the grids' product, `num_samples`
/// times, each with the other hyperparameters drawn with `seed`. Throws
/// `std::invalid_argument` for an empty grid or choice, or bad bounds.
std::vector<config> generate_configs(const search_space& space, int num_samples,
                                     std::uint64_t seed);

} // namespace troupe::tune
