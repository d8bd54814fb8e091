#include "lib/common/config.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <vector>
#include <cstdlib>
#include <thread>

#include <caf/io/middleman.hpp>
#include <caf/timespan.hpp>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "lib/protocol/messages.hpp"

#ifdef TROUPE_JEMALLOC
// jemalloc's settings for every troupe process (meson -Dallocator=jemalloc;
// MALLOC_CONF in the environment overrides them). Its defaults (4 arenas
// per CPU, per-thread caches up to 32 KiB objects) cost each process about
// 1.4 MB more than glibc's malloc: a process actor's worker grew from 4.1
// to 5.5 MB. An arena per CPU and caches of objects up to 1 KiB bring it to
// about 4.6 MB; calls to light actors measured within noise of the defaults
// (BENCHMARKS.md).
extern "C" {
const char* malloc_conf = "percpu_arena:percpu,tcache_max:1024";
}
#endif

namespace troupe::detail {

std::string env_or(const char* name, const std::string& fallback) {
  auto* v = std::getenv(name);
  return v && *v ? std::string{v} : fallback;
}

std::unique_ptr<caf::actor_system_config> make_system_config() {
  using namespace std::chrono_literals;
  auto cfg = std::make_unique<caf::actor_system_config>();
  cfg->load<caf::io::middleman>();
  register_message_types(*cfg);
  // Measured on 2 cores (sync round trips, BENCHMARKS.md): the sharing
  // policy gave up to 2x better remote round trips than work stealing.
  auto threads = std::max(2u, std::thread::hardware_concurrency());
  cfg->set("scheduler.policy",
           caf::atom_from_string(env_or("TROUPE_SCHEDULER_POLICY", "sharing")));
  cfg->set("scheduler.max-threads",
           static_cast<size_t>(
             std::stoul(env_or("TROUPE_SCHEDULER_THREADS", std::to_string(threads)))));
  // No BASP worker threads: the middleman's I/O thread deserializes a
  // message and hands it straight to its actor, one thread hand-off less on
  // every message received (sync round trip p50 77-114 us -> 62-68 us).
  cfg->set("middleman.workers",
           static_cast<size_t>(std::stoul(env_or("TROUPE_MIDDLEMAN_WORKERS", "0"))));
  // Both sides send heartbeats and drop a silent peer: a frozen process is
  // noticed within the timeout (the Debian defaults are off).
  cfg->set("middleman.heartbeat-interval",
           caf::timespan{std::chrono::milliseconds(
             std::stoi(env_or("TROUPE_HEARTBEAT_MS", "500")))});
  cfg->set("middleman.connection-timeout",
           caf::timespan{std::chrono::milliseconds(
             std::stoi(env_or("TROUPE_CONNECTION_TIMEOUT_MS", "5000")))});
  return cfg;
}

void init_logging(const std::string& role, const std::string& level,
                  const std::string& file_name) {
  auto pattern = "[%Y-%m-%d %H:%M:%S.%e] [" + role + " %P] [%^%l%$] %v";
  auto stderr_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  stderr_sink->set_level(spdlog::level::from_str(env_or("TROUPE_LOG_LEVEL", level)));
  std::vector<spdlog::sink_ptr> sinks{stderr_sink};
  auto dir = env_or("TROUPE_SESSION_DIR", "");
  if (!dir.empty() && !file_name.empty()) {
    try {
      auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        dir + "/" + file_name, 5 * 1024 * 1024, 3);
      file->set_level(spdlog::level::info);
      sinks.push_back(std::move(file));
    } catch (const spdlog::spdlog_ex&) {
      // No file, still stderr: logging must never stop a process.
    }
  }
  auto logger = std::make_shared<spdlog::logger>(
    "troupe-" + role + "-" + std::to_string(::getpid()), sinks.begin(), sinks.end());
  logger->set_pattern(pattern);
  logger->set_level(spdlog::level::trace); // each sink filters on its own
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

std::string start_log_session() {
  namespace fs = std::filesystem;
  auto root = fs::path{env_or("TROUPE_LOG_DIR", "/tmp/troupe-" + std::to_string(::getuid()))};
  char stamp[32];
  auto now = std::time(nullptr);
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H-%M-%S", std::localtime(&now));
  auto dir = root / ("session_" + std::string{stamp} + "_" + std::to_string(::getpid()));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return {};
  // The stable link to the newest session: replaced atomically by rename.
  auto tmp = root / ("session_latest." + std::to_string(::getpid()));
  fs::remove(tmp, ec);
  fs::create_directory_symlink(dir.filename(), tmp, ec);
  if (!ec)
    fs::rename(tmp, root / "session_latest", ec);
  ::setenv("TROUPE_SESSION_DIR", dir.c_str(), 1);
  // Keep the newest sessions only (names sort by time).
  std::vector<fs::path> sessions;
  for (auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory() && !e.is_symlink()
        && e.path().filename().string().rfind("session_2", 0) == 0)
      sessions.push_back(e.path());
  std::sort(sessions.begin(), sessions.end());
  constexpr std::size_t keep = 20;
  for (std::size_t i = 0; i + keep < sessions.size(); ++i)
    fs::remove_all(sessions[i], ec);
  return dir.string();
}

} // namespace troupe::detail
