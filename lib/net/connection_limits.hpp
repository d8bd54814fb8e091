#pragma once

// A bound on the connections one peer address holds open to a process: a
// client that opens connections without end runs into it, not into the
// process's descriptor limit.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace troupe::net {

class connection_limits;

/// One admitted connection; its slot is given back when the last copy goes.
class connection_slot {
public:
  connection_slot() = default;
  connection_slot(std::shared_ptr<connection_limits> owner, std::string host);
  connection_slot(connection_slot&&) noexcept = default;
  connection_slot& operator=(connection_slot&&) noexcept = default;
  ~connection_slot();

  explicit operator bool() const noexcept { return owner_ != nullptr; }

private:
  std::shared_ptr<connection_limits> owner_;
  std::string host_;
};

class connection_limits : public std::enable_shared_from_this<connection_limits> {
public:
  explicit connection_limits(std::size_t per_peer) : limit_(per_peer) {}

  /// A slot for one more connection from `host`, or an empty one when it
  /// holds `limit()` already.
  connection_slot admit(const std::string& host);

  /// Connections open from `host`.
  std::size_t open_from(const std::string& host) const;

  std::size_t limit() const noexcept { return limit_; }

private:
  friend class connection_slot;
  void release(const std::string& host);

  std::size_t limit_;
  mutable std::mutex mutex_;
  std::map<std::string, std::size_t> open_;
};

/// TROUPE_MAX_CONNECTIONS_PER_PEER, by default 1024: every worker of a
/// machine connects from the same address, and to its peers directly.
std::size_t max_connections_per_peer();

/// TROUPE_CONNECT_TIMEOUT_MS, by default 30 s: how long a connect waits for
/// its handshakes.
std::chrono::milliseconds connect_timeout();

} // namespace troupe::net
