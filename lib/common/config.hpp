#pragma once

#include <memory>
#include <string>

#include <caf/actor_system_config.hpp>

namespace troupe::detail {

/// Returns the actor-system configuration every troupe process uses: the
/// middleman with heartbeats (so a frozen peer is noticed), the sharing
/// scheduler (twice the remote round-trip rate of work stealing on 2 cores,
/// measured with CAF 0.17 on this project's 2-core machine) and troupe's
/// message types.
std::unique_ptr<caf::actor_system_config> make_system_config();

/// Sets up spdlog for a process of `role` ("driver", "node", "worker").
/// Warnings and errors go to stderr; in a process of a cluster session
/// (TROUPE_SESSION_DIR set: node daemons and workers), everything from
/// `info` up also goes to `file_name` in the session folder, rotated.
void init_logging(const std::string& role, const std::string& level,
                  const std::string& file_name = "");

/// Creates the log folder of a new cluster session,
/// `$TROUPE_LOG_DIR/session_<time>_<pid>` (TROUPE_LOG_DIR defaults to
/// /tmp/troupe-<uid>), points `session_latest` beside it at it, and exports
/// TROUPE_SESSION_DIR so that the processes it starts log there. Returns it.
std::string start_log_session();

/// Returns the value of environment variable `name`, or `fallback`.
std::string env_or(const char* name, const std::string& fallback);

} // namespace troupe::detail
