#include "lib/net/handshakes.hpp"

#include <cstdlib>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace troupe::net {

bool handshakes::start(int fd, std::function<bool()> work) {
  std::uint64_t id = 0;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (closed_ || fds_.size() >= max_)
      return false;
    id = ++next_id_;
    fds_[id] = fd;
  }
  std::thread([self = shared_from_this(), id, work = std::move(work)] {
    auto handed_on = work();
    self->done(id, handed_on);
  }).detach();
  return true;
}

bool handshakes::unless_closed(const std::function<void()>& fn) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (closed_)
    return false;
  fn();
  return true;
}

void handshakes::done(std::uint64_t id, bool handed_on) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (!handed_on)
    ::close(fds_[id]);
  fds_.erase(id);
  if (fds_.empty())
    idle_.notify_all();
}

void handshakes::close() {
  std::unique_lock<std::mutex> guard{mutex_};
  closed_ = true;
  for (auto& [id, fd] : fds_)
    ::shutdown(fd, SHUT_RDWR);
  idle_.wait(guard, [this] { return fds_.empty(); });
}

std::size_t handshakes::pending() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return fds_.size();
}

std::chrono::milliseconds handshake_timeout() {
  auto* v = std::getenv("TROUPE_HANDSHAKE_TIMEOUT_MS");
  auto n = v ? std::strtol(v, nullptr, 10) : 0;
  return std::chrono::milliseconds{n > 0 ? n : 10000};
}

} // namespace troupe::net
