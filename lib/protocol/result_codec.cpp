#include "lib/protocol/result_codec.hpp"

#include <algorithm>

#include <capnp/serialize.h>

#include "lib/protocol/capnp_codec.hpp"

namespace troupe::detail {

std::vector<parsed_result> parse_results(const std::vector<char>& bytes) {
  std::vector<parsed_result> results;
  parse_results(bytes, results);
  return results;
}

namespace {

/// Appends the entries of one ResultBatch to `results`.
void read_batch(schema::ResultBatch::Reader batch, std::vector<parsed_result>& results) {
  for (auto r : batch.getResults()) {
    parsed_result p;
    p.task_id = r.getTaskId();
    p.exec_ns = r.getExecNanos();
    p.ok = r.isValue();
    if (p.ok)
      p.value = read_value(r.getValue());
    else
      p.error = read_error(r.getError());
    for (auto v : r.getExtraValues())
      p.extra.push_back(read_value(v));
    p.item_index = r.getItemIndex();
    if (p.item_index != 0)
      p.stream = read_object_id(r.getStream());
    p.item_count = r.getItemCount();
    if (r.hasLostArgument())
      p.lost_argument = read_object_id(r.getLostArgument());
    for (auto n : r.getNested())
      p.nested.emplace_back(read_object_id(n.getObject()), read_object_id(n.getHeldBy()));
    results.push_back(std::move(p));
  }
}

} // namespace

void parse_results(const std::vector<char>& bytes, std::vector<parsed_result>& results) {
  results.clear();
  auto all = words_of(bytes);
  auto* at = all.begin();
  auto* end = all.end();
  try {
    do {
      // Each message is read within its own size: a limit from all the
      // bytes would let many small messages each traverse all of them.
      auto words = capnp::expectedSizeInWordsFromPrefix(kj::arrayPtr(at, end));
      if (words == 0 || words > static_cast<std::size_t>(end - at))
        message_reader::throw_malformed("a ResultBatch ends past the bytes");
      capnp::FlatArrayMessageReader reader{kj::arrayPtr(at, words), reader_options(words)};
      read_batch(reader.getRoot<schema::ResultBatch>(), results);
      at += words;
    } while (at < end);
  } catch (const kj::Exception& e) {
    message_reader::throw_malformed(e.getDescription().cStr());
  }
}

} // namespace troupe::detail
