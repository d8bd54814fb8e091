// Progress of long CLI work on stderr (progress.hpp).
#include "tools/progress.hpp"

#include <cstdio>
#include <unistd.h>

namespace troupe::tools {

progress_line::progress_line(bool terminal) : terminal_(terminal) {}

progress_line::progress_line() : progress_line(::isatty(2) == 1) {}

progress_line::~progress_line() { clear(); }

void progress_line::show(const std::string& what) {
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (!terminal_) {
    if (what != last_)
      std::fprintf(stderr, "[%.1f s] %s\n", secs, what.c_str());
    last_ = what;
    return;
  }
  static const char* spinner[] = {"|", "/", "-", "\\"};
  std::fprintf(stderr, "\r\033[K%s %s (%.1f s)", spinner[turn_++ % 4], what.c_str(), secs);
  std::fflush(stderr);
  drawn_ = true;
}

void progress_line::clear() {
  if (terminal_ && drawn_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
  drawn_ = false;
}

void progress_line::note(const std::string& what) {
  clear();
  std::fprintf(stderr, "%s\n", what.c_str());
  std::fflush(stderr);
}

} // namespace troupe::tools
