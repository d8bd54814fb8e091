// A main for the fuzz targets where libFuzzer is not linked in (the g++
// build): runs every file of the given folders (or the given files) through
// the target once. The suite replays each seed corpus this way, so every
// build checks that the decoders still accept what they wrote and reject
// what the fuzzers once found.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "tests/fuzz/fuzz_target.hpp"

namespace fs = std::filesystem;

namespace {

void run_file(const fs::path& file) {
  std::ifstream in{file, std::ios::binary};
  std::vector<char> bytes{std::istreambuf_iterator<char>{in}, {}};
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

} // namespace

int main(int argc, char** argv) {
  std::size_t inputs = 0;
  for (int i = 1; i < argc; ++i) {
    fs::path p{argv[i]};
    if (fs::is_directory(p)) {
      for (auto& e : fs::directory_iterator{p})
        if (e.is_regular_file()) {
          run_file(e.path());
          ++inputs;
        }
    } else if (fs::is_regular_file(p)) {
      run_file(p);
      ++inputs;
    } else {
      std::fprintf(stderr, "no such file or folder: %s\n", argv[i]);
      return 2;
    }
  }
  if (inputs == 0) {
    std::fprintf(stderr, "no inputs to replay\n");
    return 2;
  }
  std::printf("replayed %zu inputs\n", inputs);
  return 0;
}
