// A CAF message as BASP carries it, read with every type troupe registers
// (lib/protocol/message_types.cpp): CAF's deserializer with our inspect
// functions. Any peer's message goes through this before an actor's
// behavior sees it (after TLS, or for anyone with --insecure), and task
// arguments and results are read the same way (troupe/codec.hpp). Bytes
// that are no message are an error, and nothing else; a message that was
// read is written again.
//
// Read and written in troupe's value format (troupe/detail/value_format),
// which fixes what this target found in CAF's own: a vector's claimed length
// allocated unchecked (4 GiB from 30 bytes) and an infinite double written
// by a loop that never ends. BASP still reads messages with CAF's own
// (README "Security").

#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

#include "lib/protocol/messages.hpp"
#include "troupe/detail/value_format.hpp"
#include "tests/fuzz/fuzz_target.hpp"

namespace {

caf::actor_system& fuzz_system() {
  static auto* cfg = [] {
    auto* c = new caf::actor_system_config;
    troupe::register_message_types(*c);
    c->set("scheduler.max-threads", 1);
    return c;
  }();
  static auto* sys = new caf::actor_system{*cfg};
  return *sys;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& sys = fuzz_system();
  caf::message msg;
  troupe::detail::value_deserializer source{&sys, reinterpret_cast<const char*>(data), size};
  if (auto err = source(msg))
    return 0; // rejected: BASP drops the connection
  std::vector<char> again;
  troupe::detail::value_serializer sink{&sys, again};
  if (auto err = sink(msg))
    troupe::fuzz::fuzz_fail("a message that was read cannot be written");
  return 0;
}
