#pragma once

#include <memory>
#include <string>

#include <caf/actor_system_config.hpp>

namespace troupe::detail {

/// Returns the actor-system configuration every troupe process uses: the
/// middleman with heartbeats (so a frozen peer is noticed), the sharing
/// scheduler (twice the remote round-trip rate of work stealing on 2 cores,
/// shared/NOTES-CAF-0.17.md) and troupe's message types.
std::unique_ptr<caf::actor_system_config> make_system_config();

/// Sets up spdlog for a process of `role` ("driver", "node", "worker").
void init_logging(const std::string& role, const std::string& level);

/// Returns the value of environment variable `name`, or `fallback`.
std::string env_or(const char* name, const std::string& fallback);

} // namespace troupe::detail
