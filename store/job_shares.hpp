#pragma once

// Each job's share of a node's store: the region bytes its objects take (in
// memory: a spilled object's data and a fallback object's file do not
// count), kept in the store's control block under its lock, and the limit
// past which a new object of the job is refused (job_store_limit). Objects
// of job 0 (made outside any job, e.g. copies pulled from other nodes) are
// not counted. Internal to store/.

#include <cstdint>
#include <string>

#include "store/store_control.hpp"

namespace troupe::store {

/// Returns the bytes `job` holds (0 for job 0, or one holding nothing).
std::uint64_t job_bytes(const store_control& c, std::uint64_t job) noexcept;

/// Returns whether `bytes` more fit in `job`'s share (always without a limit).
bool job_fits(const store_control& c, std::uint64_t job, std::uint64_t bytes) noexcept;

/// Throws `troupe::job_store_limit_error` when `bytes` more would take `job`
/// past the store's limit, or when the job holds nothing yet and the table
/// has no room for it (max_jobs jobs hold objects here).
void check_job_room(const store_control& c, std::uint64_t job, std::uint64_t bytes);

/// Adds `delta` bytes (negative: takes them away) to `job`'s share. A share
/// that falls to 0 leaves the table. One that cannot be added (a full
/// table: only when check_job_room was not asked) is not counted.
void charge_job(store_control& c, std::uint64_t job, std::int64_t delta) noexcept;

/// Empties the table (recovery counts every share again).
void clear_jobs(store_control& c) noexcept;

/// Returns "1.5 MiB" for 1572864: sizes in the errors of the limit.
std::string format_bytes(std::uint64_t bytes);

} // namespace troupe::store
