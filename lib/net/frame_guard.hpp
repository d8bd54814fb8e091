#pragma once

// A check of every BASP frame (CAF's wire format) a connection delivers,
// before CAF's own parser sees it.
//
// CAF 0.17 trusts the frames it reads: a server handshake with no payload
// (52 bytes, one TCP write) dereferences a null payload and kills the
// process, and a 4 GiB length is allocated as asked. The guard sees the
// bytes first and drops the connection on a frame CAF must not see: an
// unknown operation, a handshake out of place or without payload, a payload
// where none belongs, or one longer than the node accepts.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace troupe::net {

class frame_guard {
public:
  /// BASP's header: operation, two padding bytes, flags, payload length,
  /// operation data, source and destination actor (big-endian integers).
  static constexpr std::size_t header_bytes = 32;

  /// `accepted`: the connection was accepted here (so its first frame is the
  /// peer's client handshake), else opened here (first: a server handshake).
  /// `max_payload`: the largest payload accepted.
  frame_guard(bool accepted, std::uint32_t max_payload)
    : accepted_(accepted), max_payload_(max_payload) {}

  /// Checks the next `n` bytes of the stream. Returns "" while they are
  /// fine, else why the connection must go (and every later call fails).
  std::string check(const std::byte* data, std::size_t n);

  /// Frames seen whole so far.
  std::uint64_t frames() const noexcept { return frames_; }

private:
  std::string check_header();

  bool accepted_;
  std::uint32_t max_payload_;
  std::array<std::byte, header_bytes> header_{};
  std::size_t header_have_ = 0;
  std::uint64_t payload_left_ = 0;
  std::uint64_t frames_ = 0;
  std::string broken_;
};

/// The payload limit: TROUPE_MAX_MESSAGE_BYTES, by default 512 MiB (an
/// executable fetched by a node is the largest message troupe sends).
std::uint32_t max_message_bytes();

} // namespace troupe::net
