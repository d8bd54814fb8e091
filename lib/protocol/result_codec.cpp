#include "lib/protocol/result_codec.hpp"

#include <algorithm>

#include "lib/protocol/capnp_codec.hpp"

namespace troupe::detail {

std::vector<parsed_result> parse_results(const std::vector<char>& bytes) {
  std::vector<parsed_result> results;
  parse_results(bytes, results);
  return results;
}

void parse_results(const std::vector<char>& bytes, std::vector<parsed_result>& results) {
  results.clear();
  message_reader reader{bytes};
  try {
    auto list = reader.root<schema::ResultBatch>().getResults();
    // Each result takes a word or more, so this reserves no more than the
    // bytes could hold (a list of empty structs claims many elements).
    results.reserve(std::min<std::size_t>(list.size(), bytes.size() / sizeof(capnp::word)));
    for (auto r : list) {
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
  } catch (const kj::Exception& e) {
    message_reader::throw_malformed(e.getDescription().cStr());
  }
}

} // namespace troupe::detail
