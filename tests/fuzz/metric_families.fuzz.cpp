// A process's metrics as its node's metrics server reads them
// (lib/protocol/metrics_codec): families with valid names, written out as
// text, or a std::exception, and nothing else.

#include <exception>
#include <vector>

#include "lib/protocol/metrics_codec.hpp"
#include "tests/fuzz/fuzz_target.hpp"

using troupe::fuzz::fuzz_fail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<char> bytes(reinterpret_cast<const char*>(data),
                          reinterpret_cast<const char*>(data) + size);
  try {
    auto families = troupe::decode_metrics(bytes);
    troupe::metric_families merged;
    troupe::merge_metrics(merged, families, {{"node", "1"}});
    auto text = troupe::metrics_text(merged);
    for (auto& f : families)
      if (f.name.empty())
        fuzz_fail("a family without a name was read");
    (void)text;
  } catch (const std::exception&) {
    // Refused: the server leaves that process out of its scrape.
  }
  return 0;
}
