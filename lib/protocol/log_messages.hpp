#pragma once

// What workers send their jobs' drivers of their tasks' output
// (lib/core/worker_output.hpp). Registered with the other message types
// (messages.hpp).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace troupe {

/// A line a task or actor wrote to its worker's stdout or stderr.
struct log_line {
  bool err = false;  ///< stderr
  std::string tag;   ///< who wrote it: the task's function, or the actor's class
  std::string text;  ///< without the newline
};

template <class I>
typename I::result_type inspect(I& f, log_line& x) {
  return f(caf::meta::type_name("troupe.log_line"), x.err, x.tag, x.text);
}

/// Lines of one worker for one job, sent to the job's driver.
struct log_batch {
  std::uint64_t node = 0;
  std::int32_t pid = 0;
  std::vector<log_line> lines;
};

template <class I>
typename I::result_type inspect(I& f, log_batch& x) {
  return f(caf::meta::type_name("troupe.log_batch"), x.node, x.pid, x.lines);
}

} // namespace troupe
