// A TaskBatch as a worker's executor reads it (lib/core/executor.cpp,
// task_runner.cpp): the Cap'n Proto reader, then every field a task's run
// reads, with the codec's helpers (lib/protocol/capnp_codec). The worker
// drops a batch that throws std::exception (Cap'n Proto's kj::Exception is
// one) and fails a task whose argument throws; nothing else may happen.

#include <stdexcept>
#include <string_view>
#include <vector>

#include "lib/protocol/capnp_codec.hpp"
#include "tests/fuzz/fuzz_target.hpp"

using namespace troupe;
using troupe::fuzz::fuzz_fail;
using namespace troupe::detail;

namespace {

std::size_t touch(schema::Value::Reader v) {
  auto value = read_value(v); // what the worker's arguments are made of
  std::size_t n = value.size + value.type_name.size();
  if (!value.in_store && value.inline_data)
    n += value.inline_data->size();
  return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<char> bytes(reinterpret_cast<const char*>(data),
                          reinterpret_cast<const char*>(data) + size);
  std::size_t seen = 0;
  try {
    message_reader reader{bytes};
    for (auto spec : reader.root<schema::TaskBatch>().getTasks()) {
      seen += spec.getTaskId();
      seen += std::string_view{spec.getFunction().cStr()}.size();
      seen += spec.getName().size();
      seen += read_object_id(spec.getReturnId()).seq;
      for (auto id : spec.getExtraReturnIds())
        seen += read_object_id(id).seq;
      for (auto a : spec.getArgs()) {
        try {
          seen += touch(a);
        } catch (const troupe::error& e) {
          if (e.kind() != error_kind::protocol)
            fuzz_fail("a bad argument is not a protocol error");
        }
      }
      seen += spec.getMaxConcurrency() + spec.getBackpressure() + spec.getRestarts();
      seen += read_object_id(spec.getActorId()).owner;
    }
  } catch (const std::exception&) {
    // The executor drops the batch and logs why.
  }
  [[maybe_unused]] static volatile std::size_t sink;
  sink = seen;
  return 0;
}
