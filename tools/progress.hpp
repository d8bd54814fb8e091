#pragma once

// Progress of long CLI work (`troupe job submit` waiting, the
// microbenchmark) on stderr: on a terminal one line redrawn in place, with
// a spinner and the time since the start; piped, a plain line per change,
// so that logs stay readable.

#include <chrono>
#include <string>

namespace troupe::tools {

class progress_line {
public:
  /// `terminal`: redraw one line (default: whether stderr is a terminal).
  explicit progress_line(bool terminal);
  progress_line();
  ~progress_line();
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;

  /// Shows `what`: redrawn on a terminal (each call turns the spinner),
  /// printed as a line when piped and it differs from the last one.
  void show(const std::string& what);

  /// Removes the line from a terminal, before other output goes there; the
  /// next `show` draws it again.
  void clear();

  /// Prints `what` as a line of its own, the progress line cleared first.
  void note(const std::string& what);

  bool terminal() const noexcept { return terminal_; }

private:
  bool terminal_;
  bool drawn_ = false;
  unsigned turn_ = 0;
  std::string last_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

} // namespace troupe::tools
