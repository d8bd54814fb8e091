#include "lib/src/config.hpp"

#include <chrono>
#include <cstdlib>
#include <thread>

#include <caf/io/middleman.hpp>
#include <caf/timespan.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "lib/src/messages.hpp"

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
  auto threads = std::max(2u, std::thread::hardware_concurrency());
  cfg->set("scheduler.policy", caf::atom("sharing"));
  cfg->set("scheduler.max-threads", static_cast<size_t>(threads));
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

void init_logging(const std::string& role, const std::string& level) {
  auto logger = spdlog::stderr_color_mt("troupe-" + role + "-"
                                        + std::to_string(::getpid()));
  logger->set_pattern("[%H:%M:%S.%e] [" + role + " %P] [%^%l%$] %v");
  logger->set_level(spdlog::level::from_str(env_or("TROUPE_LOG_LEVEL", level)));
  spdlog::set_default_logger(logger);
}

} // namespace troupe::detail
