#include "lib/net/frame_guard.hpp"

#include <random>
#include <vector>

#include <doctest/doctest.h>

using namespace troupe::net;

namespace {

std::vector<std::byte> header(std::uint8_t op, std::uint32_t len, std::uint64_t data = 0) {
  std::vector<std::byte> h(frame_guard::header_bytes, std::byte{0});
  h[0] = std::byte{op};
  for (int i = 0; i < 4; ++i)
    h[static_cast<std::size_t>(4 + i)] = std::byte(static_cast<std::uint8_t>(len >> (24 - 8 * i)));
  for (int i = 0; i < 8; ++i)
    h[static_cast<std::size_t>(8 + i)] = std::byte(static_cast<std::uint8_t>(data >> (56 - 8 * i)));
  return h;
}

std::vector<std::byte> frame(std::uint8_t op, std::uint32_t len) {
  auto f = header(op, len);
  f.resize(f.size() + len, std::byte{0x5a});
  return f;
}

std::string feed(frame_guard& g, const std::vector<std::byte>& bytes) {
  return g.check(bytes.data(), bytes.size());
}

} // namespace

TEST_CASE("the 52-byte frame that crashed CAF is refused: a handshake without payload") {
  // Op 0, seven zero bytes (so a payload length of 0), 2^31 and 40 zeros.
  std::vector<std::byte> bytes(52, std::byte{0});
  bytes[8] = std::byte{0x80};
  frame_guard as_server{true, 1 << 20};
  CHECK(feed(as_server, bytes).find("not a client handshake") != std::string::npos);
  frame_guard as_client{false, 1 << 20};
  CHECK(feed(as_client, bytes) == "a server handshake without payload");
  CHECK_FALSE(feed(as_client, frame(6, 0)).empty()); // broken for good
}

TEST_CASE("a well-formed conversation passes, however the stream is cut") {
  std::vector<std::byte> stream;
  for (auto& f : {frame(1, 40), frame(2, 1000), frame(6, 0), frame(4, 16), frame(3, 70000)})
    stream.insert(stream.end(), f.begin(), f.end());
  auto seed = std::random_device{}();
  MESSAGE("seed " << seed);
  std::mt19937 rng{seed};
  for (int round = 0; round < 50; ++round) {
    frame_guard g{true, 1 << 20};
    std::size_t at = 0;
    while (at < stream.size()) {
      auto n = std::min<std::size_t>(stream.size() - at, 1 + rng() % 100);
      REQUIRE(g.check(stream.data() + at, n) == "");
      at += n;
    }
    CHECK(g.frames() == 5);
  }
}

TEST_CASE("frames CAF must not see are refused, each with its reason") {
  auto after_handshake = [](const std::vector<std::byte>& f) {
    frame_guard g{true, 1 << 20};
    REQUIRE(feed(g, frame(1, 8)) == "");
    return feed(g, f);
  };
  CHECK(after_handshake(frame(7, 4)).find("operation 7") != std::string::npos);
  CHECK(after_handshake(frame(0xff, 4)).find("operation 255") != std::string::npos);
  CHECK(after_handshake(frame(1, 8)) == ""); // CAF repeats its client handshake
  CHECK(after_handshake(frame(0, 8)) == "a server handshake from the connecting side");
  CHECK(after_handshake(frame(6, 3)) == "a heartbeat with a payload of 3 bytes");
  CHECK(after_handshake(frame(2, 0)) == "a direct message without payload");
  CHECK(after_handshake(header(2, 0x80000000u)).find("over the limit of 1048576")
        != std::string::npos);
  frame_guard server{true, 1 << 20};
  CHECK(feed(server, frame(2, 8)) == "its first frame is a direct message, not a client "
                                     "handshake");
}
