// Unit tests of the result outbox's message: light actors' ResultBatches for
// one caller go back to back, and read as every result, in order.
#include <doctest/doctest.h>

#include <capnp/message.h>

#include "lib/core/result_outbox.hpp"
#include "lib/protocol/capnp_codec.hpp"
#include "lib/protocol/result_codec.hpp"

using namespace troupe;
using namespace troupe::detail;

namespace {

std::vector<char> batch_of(std::vector<std::uint64_t> task_ids) {
  capnp::MallocMessageBuilder b;
  auto list = b.initRoot<schema::ResultBatch>().initResults(
    static_cast<unsigned>(task_ids.size()));
  for (unsigned i = 0; i < task_ids.size(); ++i)
    list[i].setTaskId(task_ids[i]);
  return to_bytes(b);
}

std::vector<std::uint64_t> ids_in(const std::vector<char>& bytes) {
  std::vector<std::uint64_t> out;
  for (auto& r : parse_results(bytes))
    out.push_back(r.task_id);
  return out;
}

} // namespace

TEST_CASE("result batches sent together read back as every result of each, in order") {
  std::vector<std::vector<char>> batches{batch_of({7}), batch_of({3, 9}), batch_of({}),
                                         batch_of({1})};
  CHECK(ids_in(concat_result_batches(batches)) == std::vector<std::uint64_t>{7, 3, 9, 1});
  std::vector<std::vector<char>> one{batch_of({4, 5})};
  CHECK(ids_in(concat_result_batches(one)) == std::vector<std::uint64_t>{4, 5});
}
