#include "store/job_shares.hpp"

#include <cstdio>
#include <string>

#include "troupe/errors.hpp"

namespace troupe::store {

namespace {

/// The entry of `job`, or nullptr. Entries are packed from the first: a
/// lookup scans only the jobs that hold something (usually one or two).
template <class Control>
auto* find(Control& c, std::uint64_t job) noexcept {
  for (std::uint64_t i = 0; i < c.job_count && i < max_jobs; ++i)
    if (c.jobs[i].job == job)
      return &c.jobs[i];
  return static_cast<decltype(&c.jobs[0])>(nullptr);
}

/// Whether `bytes` more fit a share of `held` bytes under the limit.
bool within_limit(const store_control& c, std::uint64_t held, std::uint64_t bytes) noexcept {
  return c.job_limit == 0 || (bytes <= c.job_limit && held <= c.job_limit - bytes);
}

} // namespace

std::uint64_t job_bytes(const store_control& c, std::uint64_t job) noexcept {
  if (job == 0)
    return 0;
  auto* e = find(c, job);
  return e == nullptr ? 0 : e->bytes;
}

bool job_fits(const store_control& c, std::uint64_t job, std::uint64_t bytes) noexcept {
  return job == 0 || c.job_limit == 0 || within_limit(c, job_bytes(c, job), bytes);
}

void check_job_room(const store_control& c, std::uint64_t job, std::uint64_t bytes) {
  // The allocation path: without a limit only a full table is looked for.
  if (job == 0 || (c.job_limit == 0 && c.job_count < max_jobs))
    return;
  auto held = job_bytes(c, job);
  if (held == 0 && c.job_count >= max_jobs)
    throw job_store_limit_error("job " + std::to_string(job) + " cannot hold objects in this "
                                "node's object store: " + std::to_string(max_jobs)
                                + " other jobs hold objects there");
  if (within_limit(c, held, bytes))
    return;
  throw job_store_limit_error(
    "job " + std::to_string(job) + " holds " + format_bytes(held)
    + " of this node's object store, and " + format_bytes(bytes) + " more would pass its limit of "
    + format_bytes(c.job_limit)
    + " (--max-job-store-bytes, TROUPE_MAX_JOB_STORE_BYTES): free some of its refs");
}

void charge_job(store_control& c, std::uint64_t job, std::int64_t delta) noexcept {
  if (job == 0 || delta == 0)
    return;
  auto* e = find(c, job);
  if (e == nullptr) {
    if (delta < 0 || c.job_count >= max_jobs)
      return;
    e = &c.jobs[c.job_count++];
    *e = {job, 0};
  }
  auto taken = static_cast<std::uint64_t>(delta < 0 ? -delta : delta);
  if (delta > 0) {
    e->bytes += taken;
    return;
  }
  e->bytes -= taken < e->bytes ? taken : e->bytes;
  if (e->bytes == 0)
    *e = c.jobs[--c.job_count]; // the last entry takes its place
}

void clear_jobs(store_control& c) noexcept {
  c.job_count = 0;
}

std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024)
    return std::to_string(bytes) + " bytes";
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

} // namespace troupe::store
