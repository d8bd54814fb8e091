// The frame guard in front of CAF's BASP parser (lib/net/frame_guard): the
// first bytes any peer sends, before any authentication when --insecure.
//
// Input: one byte of settings (bit 0: accepted or opened connection; bits
// 1-7: the size of the chunks the stream arrives in), then the stream.
// Checks that the verdict does not depend on how the stream was cut into
// reads (TCP cuts it anywhere), and that a broken stream stays broken.

#include <algorithm>
#include <string>

#include "lib/net/frame_guard.hpp"
#include "tests/fuzz/fuzz_target.hpp"

using troupe::fuzz::fuzz_fail;
using troupe::net::frame_guard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  bool accepted = (data[0] & 1) != 0;
  std::size_t chunk = (data[0] >> 1) + 1u;
  auto* bytes = reinterpret_cast<const std::byte*>(data + 1);
  auto n = size - 1;
  // A small limit, so that "too large" is reachable.
  constexpr std::uint32_t max_payload = 4096;

  frame_guard whole{accepted, max_payload};
  auto verdict = whole.check(bytes, n);

  frame_guard cut{accepted, max_payload};
  std::string cut_verdict;
  std::uint64_t frames = 0;
  for (std::size_t at = 0; at < n; at += chunk) {
    auto why = cut.check(bytes + at, std::min(chunk, n - at));
    if (cut.frames() < frames)
      fuzz_fail("the count of frames went down");
    frames = cut.frames();
    if (!cut_verdict.empty() && why.empty())
      fuzz_fail("a broken stream was accepted again");
    if (cut_verdict.empty())
      cut_verdict = why;
  }
  if (verdict.empty() != cut_verdict.empty())
    fuzz_fail("the verdict depends on how the stream was cut");
  if (verdict.empty() && whole.frames() != cut.frames())
    fuzz_fail("the frames counted depend on how the stream was cut");
  return 0;
}
