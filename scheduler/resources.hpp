#pragma once

#include <cmath>
#include <string>
#include <string_view>

#include "lib/protocol/messages.hpp"

namespace troupe::sched {

/// Returns whether `available` covers every positive amount in `request`.
bool fits(const resource_map& available, const resource_map& request) noexcept;

/// Subtracts `request` from `pool` (amounts may go negative while a blocked
/// worker is oversubscribed).
void take(resource_map& pool, const resource_map& request);

/// Adds `request` back to `pool`.
void give(resource_map& pool, const resource_map& request);

/// Returns an amount of resource `name` as people read it (memory in GB).
std::string format_amount(const std::string& name, double amount);

/// Returns `{CPU: 2, GPU: 0.5, memory: 16 GB}`-style text.
std::string to_string(const resource_map& rs);

/// Parses `name=value,name=value` (empty text gives no resources); throws
/// `std::invalid_argument` naming the bad item.
resource_map parse_resources(const std::string& text);

/// Throws the `std::invalid_argument` of `check_amount`.
[[noreturn]] void throw_bad_amount(std::string_view name, double amount, std::string_view what);

/// Throws `std::invalid_argument` naming `what` and the resource unless
/// `amount` of `name` is finite and non-negative. Checked where amounts come
/// in: CAF 0.17 serializes an infinite double by a loop that never ends, so
/// an infinite amount would hang the process that sends it to the scheduler.
/// Inline and allocation-free when the amount is fine: it runs on every
/// task submission.
inline void check_amount(std::string_view name, double amount, std::string_view what) {
  if (!(std::isfinite(amount) && amount >= 0))
    throw_bad_amount(name, amount, what);
}

/// `check_amount` for every amount of `rs`.
inline void check_amounts(const resource_map& rs, std::string_view what) {
  for (auto& [name, amount] : rs)
    check_amount(name, amount, what);
}

} // namespace troupe::sched
