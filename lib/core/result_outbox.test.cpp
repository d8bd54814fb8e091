// Unit tests of the result outbox's merge: light actors' ResultBatches for
// one caller become one batch holding every result, in order.
#include <doctest/doctest.h>

#include <capnp/message.h>

#include "lib/core/result_outbox.hpp"
#include "lib/protocol/capnp_codec.hpp"

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
  message_reader r{bytes};
  std::vector<std::uint64_t> out;
  for (auto one : r.root<schema::ResultBatch>().getResults())
    out.push_back(one.getTaskId());
  return out;
}

} // namespace

TEST_CASE("merged result batches hold every result of each, in order") {
  auto merged = merge_result_batches({batch_of({7}), batch_of({3, 9}), batch_of({}),
                                      batch_of({1})});
  CHECK(ids_in(merged) == std::vector<std::uint64_t>{7, 3, 9, 1});
}

TEST_CASE("a malformed batch among those merged is refused, naming it malformed") {
  std::vector<char> junk(24, '\x7f');
  CHECK_THROWS_AS(merge_result_batches({batch_of({1}), junk}), troupe::error);
}
