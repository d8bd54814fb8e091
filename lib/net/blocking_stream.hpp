#pragma once

// A blocking socket, through TLS or not: the store's data channel reads and
// writes whole buffers on a thread of its own, bounded by the socket's
// SO_RCVTIMEO and SO_SNDTIMEO.

#include <cstddef>
#include <memory>
#include <string>

namespace troupe::net {

class tls_context;
class tls_session;

class blocking_stream {
public:
  blocking_stream() = default;
  /// Reads and writes `fd` (blocking; its owner closes it), through `tls`
  /// when it is set.
  blocking_stream(int fd, std::unique_ptr<tls_session> tls);
  blocking_stream(blocking_stream&&) noexcept;
  blocking_stream& operator=(blocking_stream&&) noexcept;
  ~blocking_stream();

  /// Runs the TLS handshake on `fd` (blocking) with `ctx`, when set: the
  /// stream over `fd`, or one with no descriptor (why in `error`) when the
  /// handshake failed. Does not close `fd`.
  static blocking_stream open(int fd, const std::shared_ptr<tls_context>& ctx,
                              bool accepted, std::string& error);

  /// Reads exactly `n` bytes; returns how many arrived before an error or
  /// the end of the stream (errno tells which: EAGAIN a timeout, 0 the end).
  std::size_t read_fully(void* p, std::size_t n);

  /// Writes all `n` bytes; false on an error or timeout (errno tells which).
  bool write_fully(const void* p, std::size_t n);

  int fd() const noexcept { return fd_; }

  bool encrypted() const noexcept { return tls_ != nullptr; }

private:
  int fd_ = -1;
  std::unique_ptr<tls_session> tls_;
};

} // namespace troupe::net
