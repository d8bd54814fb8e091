#pragma once

// The TLS handshakes of accepted connections, each on a thread of its own:
// CAF's multiplexer thread serves every connection of a process, and a
// handshake run there would either block it (a peer that never answers) or
// spin it (CAF polls a scribe for writes until its handshake is done, which
// starved the other processes of a 2-core machine into 5 s BASP timeouts).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <cstdint>
#include <map>

namespace troupe::net {

class handshakes : public std::enable_shared_from_this<handshakes> {
public:
  explicit handshakes(std::size_t max_pending) : max_(max_pending) {}

  /// Runs `work` on a thread of its own for the connection on `fd`, unless
  /// closed or `max_pending` run already; returns whether it started. `work`
  /// returns whether it handed `fd` on; if not, `fd` is closed here (under
  /// the lock `close` takes, so that it never shuts down a reused number).
  bool start(int fd, std::function<bool()> work);

  /// Runs `fn` unless closed (then the process's event loop still exists);
  /// returns whether it ran.
  bool unless_closed(const std::function<void()>& fn);

  /// Ends every pending handshake (their sockets are shut down) and waits
  /// for their threads; `start` and `unless_closed` refuse from now on.
  void close();

  std::size_t pending() const;

private:
  void done(std::uint64_t id, bool handed_on);

  std::size_t max_;
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  bool closed_ = false;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, int> fds_; ///< by handshake: a closed fd's number is reused
};

/// TROUPE_HANDSHAKE_TIMEOUT_MS, by default 10 s: how long a peer has to
/// complete its TLS handshake.
std::chrono::milliseconds handshake_timeout();

} // namespace troupe::net
