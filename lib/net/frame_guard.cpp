#include "lib/net/frame_guard.hpp"

#include <algorithm>
#include <cstdlib>

namespace troupe::net {

namespace {

enum op : std::uint8_t {
  server_handshake = 0,
  client_handshake = 1,
  direct_message = 2,
  routed_message = 3,
  monitor_message = 4,
  down_message = 5,
  heartbeat = 6,
};

const char* name_of(std::uint8_t operation) {
  static constexpr const char* names[] = {"server handshake", "client handshake",
                                          "direct message",   "routed message",
                                          "monitor message",  "down message",
                                          "heartbeat"};
  return operation <= heartbeat ? names[operation] : "unknown operation";
}

} // namespace

std::uint32_t max_message_bytes() {
  if (auto* v = std::getenv("TROUPE_MAX_MESSAGE_BYTES")) {
    auto n = std::strtoull(v, nullptr, 10);
    if (n > 0)
      return static_cast<std::uint32_t>(std::min<unsigned long long>(n, 0xffffffffu));
  }
  return 512u << 20;
}

std::string frame_guard::check_header() {
  auto operation = std::to_integer<std::uint8_t>(header_[0]);
  std::uint32_t len = 0;
  for (int i = 4; i < 8; ++i)
    len = (len << 8) | std::to_integer<std::uint32_t>(header_[static_cast<std::size_t>(i)]);
  auto what = std::string{name_of(operation)};
  if (operation > heartbeat)
    return "a frame with operation " + std::to_string(operation) + ", which BASP has not";
  bool first = frames_ == 0;
  auto expected_first = accepted_ ? client_handshake : server_handshake;
  if (first && operation != expected_first)
    return "its first frame is a " + what + ", not a " + name_of(expected_first);
  // CAF 0.17 sends its client handshake on connecting and again in answer to
  // the server's: the peer's own kind may repeat, the other kind never comes.
  auto wrong_kind = accepted_ ? server_handshake : client_handshake;
  if (!first && operation == wrong_kind)
    return "a " + what + " from the " + (accepted_ ? "connecting" : "accepting") + " side";
  if (operation == heartbeat && len != 0)
    return "a heartbeat with a payload of " + std::to_string(len) + " bytes";
  if (operation != heartbeat && len == 0)
    return "a " + what + " without payload";
  if (len > max_payload_)
    return "a " + what + " of " + std::to_string(len) + " bytes, over the limit of "
           + std::to_string(max_payload_) + " (TROUPE_MAX_MESSAGE_BYTES)";
  payload_left_ = len;
  ++frames_;
  return {};
}

std::string frame_guard::check(const std::byte* data, std::size_t n) {
  if (!broken_.empty())
    return broken_;
  while (n > 0) {
    if (payload_left_ > 0) {
      auto skip = static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, n));
      payload_left_ -= skip;
      data += skip;
      n -= skip;
      continue;
    }
    auto take = std::min(n, header_bytes - header_have_);
    std::copy(data, data + take, header_.begin() + static_cast<std::ptrdiff_t>(header_have_));
    header_have_ += take;
    data += take;
    n -= take;
    if (header_have_ == header_bytes) {
      header_have_ = 0;
      broken_ = check_header();
      if (!broken_.empty())
        return broken_;
    }
  }
  return {};
}

} // namespace troupe::net
