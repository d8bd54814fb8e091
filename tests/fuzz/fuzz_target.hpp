#pragma once

// What every fuzz target defines: libFuzzer's entry point. Each target feeds
// its input to one decoder of bytes that come from outside a process (the
// wire, the state store, shared memory, the command line) and fails only on
// what a decoder must never do: crash, read out of bounds (ASan), overflow
// (UBSan), hang, or throw anything but the error it documents. Broken
// invariants end the run with `fuzz_fail`, so libFuzzer keeps the input.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace troupe::fuzz {

[[noreturn]] inline void fuzz_fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

} // namespace troupe::fuzz
