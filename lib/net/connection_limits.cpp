#include "lib/net/connection_limits.hpp"

#include <cstdlib>

namespace troupe::net {

connection_slot::connection_slot(std::shared_ptr<connection_limits> owner, std::string host)
  : owner_(std::move(owner)), host_(std::move(host)) {}

connection_slot::~connection_slot() {
  if (owner_)
    owner_->release(host_);
}

connection_slot connection_limits::admit(const std::string& host) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& n = open_[host];
  if (n >= limit_)
    return {};
  ++n;
  return connection_slot{shared_from_this(), host};
}

std::size_t connection_limits::open_from(const std::string& host) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto i = open_.find(host);
  return i == open_.end() ? 0 : i->second;
}

void connection_limits::release(const std::string& host) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto i = open_.find(host);
  if (i != open_.end() && --i->second == 0)
    open_.erase(i);
}

namespace {

long env_number(const char* name, long fallback) {
  auto* v = std::getenv(name);
  if (!v || !*v)
    return fallback;
  auto n = std::strtol(v, nullptr, 10);
  return n > 0 ? n : fallback;
}

} // namespace

std::size_t max_connections_per_peer() {
  return static_cast<std::size_t>(env_number("TROUPE_MAX_CONNECTIONS_PER_PEER", 1024));
}

std::chrono::milliseconds connect_timeout() {
  return std::chrono::milliseconds{env_number("TROUPE_CONNECT_TIMEOUT_MS", 30000)};
}

} // namespace troupe::net
