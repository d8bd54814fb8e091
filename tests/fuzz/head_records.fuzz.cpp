// The head's records as a restarted head loads them from its state store
// (actors/head_codec): the first byte picks the decoder, the rest is the
// record. A record that is not one is a protocol error, and nothing else.

#include <string>

#include "actors/head_codec.hpp"
#include "tests/fuzz/fuzz_target.hpp"
#include "troupe/errors.hpp"

using namespace troupe;
using troupe::fuzz::fuzz_fail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  std::string bytes{reinterpret_cast<const char*>(data) + 1, size - 1};
  try {
    switch (data[0] % 6) {
      case 0: {
        auto n = decode_node(bytes);
        if (decode_node(encode_node(n)).node_id != n.node_id)
          fuzz_fail("a node record does not survive its own encoding");
        break;
      }
      case 1: {
        auto j = decode_job(bytes);
        if (decode_job(encode_job(j)).exe != j.exe)
          fuzz_fail("a job record does not survive its own encoding");
        break;
      }
      case 2: {
        auto a = decode_actor(bytes);
        if (!(decode_actor(encode_actor(a)).rec.id == a.rec.id))
          fuzz_fail("an actor record does not survive its own encoding");
        break;
      }
      case 3: {
        auto [spec, state] = decode_group(bytes);
        if (decode_group(encode_group(spec, state)).first.id != spec.id)
          fuzz_fail("a placement group record does not survive its own encoding");
        break;
      }
      case 4:
        decode_counters(bytes);
        break;
      default:
        decode_group_counter(bytes);
        break;
    }
  } catch (const troupe::error& e) {
    if (e.kind() != error_kind::protocol)
      fuzz_fail("a malformed record is not a protocol error");
  }
  return 0;
}
