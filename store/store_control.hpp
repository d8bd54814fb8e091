#pragma once

// The control block at the start of a store's region: its robust lock, its
// counters and the table of processes that map it. Internal to store/: the
// object store is its only user.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>

#include <pthread.h>

namespace troupe::store {

/// Processes (object_store instances) that may map one store at once: the
/// holder bitmap of each object has a bit per slot.
inline constexpr std::size_t max_processes = 1024;

/// A process, told apart from a later one with the same pid by its start
/// time (field 22 of /proc/PID/stat, in clock ticks since boot), in the pid
/// namespace `ns` (the inode of /proc/self/ns/pid).
struct process_identity {
  std::int32_t pid = 0;
  std::uint32_t ns = 0;
  std::uint64_t start = 0;

  /// This process.
  static process_identity self();

  /// Whether the process still runs (a zombie does not), as far as this
  /// process can tell: one of another pid namespace (a container sharing
  /// the node's /dev/shm) cannot be looked up, and counts as alive.
  bool alive() const;
};

/// A slot of the process table: pid 0 is free. The pid is written last, so
/// a slot that shows one shows its namespace and start time too.
struct process_slot {
  std::int32_t pid;
  std::uint32_t ns;
  std::uint64_t start;
};

/// Jobs that may hold objects in one store at once (a job's entry leaves
/// the table with its last byte).
inline constexpr std::size_t max_jobs = 1024;

/// The region bytes one job's objects take (job_shares.hpp).
struct job_share {
  std::uint64_t job;
  std::uint64_t bytes;
};

struct store_control {
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t init; ///< 0: zero-filled, 1: being formatted, 2: ready (atomic_ref)
  pthread_mutex_t mutex; ///< robust and process-shared
  // Under the mutex:
  std::uint64_t live_objects;
  std::uint64_t bytes_in_use;
  std::uint64_t recoveries; ///< times the lock was taken over from a dead holder
  std::uint64_t spilled_objects; ///< objects whose data is in a spill file only
  std::uint64_t spilled_bytes;   ///< their data bytes
  std::uint64_t fallback_objects; ///< objects made on disk (too large for the region)
  std::uint64_t fallback_bytes;   ///< their data bytes
  char spill_dir[512];           ///< where spill files go ("": no spilling)
  std::uint64_t job_limit;       ///< region bytes a job may hold (0: no limit)
  std::uint64_t job_count;       ///< entries of `jobs` in use, from the first
  job_share jobs[max_jobs];
  // Atomic (atomic_ref), raised by whoever allocates past it:
  std::uint64_t high_water;
  process_slot slots[max_processes];

  /// Formats a zero-filled control block once (the first process to come),
  /// or waits for the process formatting it. Throws `std::runtime_error`
  /// when the region holds another layout or its formatting never ends.
  static store_control& attach(std::byte* region, const std::function<void()>& format);
};

/// Holds a store's robust mutex. When its last holder died holding it, the
/// lock is taken over: `recover` runs first (it makes what the dead process
/// was changing whole again), then the mutex is marked consistent.
class store_lock {
public:
  store_lock(store_control& c, const std::function<void()>& recover);
  ~store_lock();
  store_lock(const store_lock&) = delete;
  store_lock& operator=(const store_lock&) = delete;

private:
  store_control& c_;
};

} // namespace troupe::store
