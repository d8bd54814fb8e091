#include "store/store_control.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

namespace troupe::store {

namespace {

constexpr std::uint64_t control_magic = 0x74726f7570652e73; // "troupe.s"
// Bumped whenever the region's layout changes: a process built from other
// sources refuses the region instead of misreading it.
constexpr std::uint32_t layout_version = 5;

constexpr std::uint32_t init_fresh = 0;
constexpr std::uint32_t init_formatting = 1;
constexpr std::uint32_t init_ready = 2;

/// Reads the state letter and start time of `pid` from /proc; false when
/// it has no entry (it is gone).
bool read_stat(std::int32_t pid, char* state, std::uint64_t* start) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  auto* f = std::fopen(path, "re");
  if (f == nullptr)
    return false;
  char buf[1024];
  auto n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name (field 2) may hold spaces and parentheses: fields are
  // counted from the last ')'.
  auto* p = std::strrchr(buf, ')');
  if (p == nullptr || p[1] == '\0')
    return false;
  *state = p[2];
  p += 2;
  for (int field = 3; field < 22 && p != nullptr; ++field) {
    p = std::strchr(p, ' ');
    if (p != nullptr)
      ++p;
  }
  if (p == nullptr)
    return false;
  *start = std::strtoull(p, nullptr, 10);
  return true;
}

/// The inode of this process's pid namespace (0 when it cannot be read).
std::uint32_t own_pid_namespace() {
  struct stat st {};
  if (::stat("/proc/self/ns/pid", &st) != 0)
    return 0;
  return static_cast<std::uint32_t>(st.st_ino);
}

} // namespace

process_identity process_identity::self() {
  process_identity me;
  me.pid = static_cast<std::int32_t>(::getpid());
  me.ns = own_pid_namespace();
  char state = 0;
  if (!read_stat(me.pid, &state, &me.start))
    throw std::runtime_error("cannot read /proc/self/stat");
  return me;
}

bool process_identity::alive() const {
  static const auto own_ns = own_pid_namespace();
  if (ns != own_ns)
    return true; // its pid means nothing here: never reaped from here
  char state = 0;
  std::uint64_t seen = 0;
  if (!read_stat(pid, &state, &seen))
    return false;
  // Z: a zombie, killed and not yet waited for; X: dying.
  return state != 'Z' && state != 'X' && seen == start;
}

store_control& store_control::attach(std::byte* region,
                                      const std::function<void()>& format) {
  auto& c = *reinterpret_cast<store_control*>(region);
  std::atomic_ref init(c.init);
  auto expected = init_fresh;
  if (init.compare_exchange_strong(expected, init_formatting, std::memory_order_acq_rel)) {
    c.magic = control_magic;
    c.version = layout_version;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    // Robust: a holder that dies hands the next locker EOWNERDEAD instead
    // of leaving every process of the node blocked for good.
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&c.mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    format();
    init.store(init_ready, std::memory_order_release);
  } else {
    // The node's store manager formats its segment before any other process
    // learns its name: waiting here is for tests that share a region.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (init.load(std::memory_order_acquire) != init_ready) {
      if (std::chrono::steady_clock::now() > until)
        throw std::runtime_error("the store's region was never formatted "
                                 "(the process formatting it died?)");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  if (c.magic != control_magic || c.version != layout_version)
    throw std::runtime_error("the region holds another store layout (version "
                             + std::to_string(c.version) + "; this build reads version "
                             + std::to_string(layout_version) + ")");
  return c;
}

store_lock::store_lock(store_control& c, const std::function<void()>& recover) : c_(c) {
  auto rc = pthread_mutex_lock(&c.mutex);
  if (rc == EOWNERDEAD) {
    ++c.recoveries;
    try {
      recover();
    } catch (...) {
      pthread_mutex_consistent(&c.mutex);
      pthread_mutex_unlock(&c.mutex);
      throw;
    }
    pthread_mutex_consistent(&c.mutex);
  } else if (rc != 0) {
    throw std::runtime_error(std::string{"cannot lock the object store: "}
                             + std::strerror(rc));
  }
}

store_lock::~store_lock() {
  pthread_mutex_unlock(&c_.mutex);
}

} // namespace troupe::store
