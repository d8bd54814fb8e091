// A ResultBatch as a submitter reads it (lib/protocol/result_codec): every
// entry read into plain values, or a protocol error, and nothing else.

#include <vector>

#include "lib/protocol/result_codec.hpp"
#include "tests/fuzz/fuzz_target.hpp"
#include "troupe/errors.hpp"

using namespace troupe;
using troupe::fuzz::fuzz_fail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<char> bytes(reinterpret_cast<const char*>(data),
                          reinterpret_cast<const char*>(data) + size);
  try {
    auto results = detail::parse_results(bytes);
    for (auto& r : results)
      if (r.ok && !r.error.message.empty())
        fuzz_fail("a result read as a value carries an error message");
  } catch (const troupe::error& e) {
    if (e.kind() != error_kind::protocol)
      fuzz_fail("a malformed result batch is not a protocol error");
  }
  return 0;
}
