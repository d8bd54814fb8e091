#include "lib/core/worker_output.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <ext/stdio_sync_filebuf.h>
#include <iostream>
#include <fcntl.h>
#include <mutex>
#include <poll.h>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

namespace troupe::detail {

std::string output_tag(std::string_view name, bool actor_method) {
  if (!actor_method)
    return std::string{name};
  // A call is named `ACTOR: METHOD`, the actor by its name or class.
  if (auto colon = name.find(": "); colon != std::string_view::npos)
    return std::string{name.substr(0, colon)};
  if (!name.empty() && name.front() == '&')
    name.remove_prefix(1);
  auto sep = name.rfind("::");
  return std::string{sep == std::string_view::npos ? name : name.substr(0, sep)};
}

std::string output_marker(const output_source& src) {
  return ":task: job=" + std::to_string(src.job) + " task=" + std::to_string(src.task)
         + " name=" + src.name + "\n";
}

bool parse_output_marker(std::string_view line, output_source& src) {
  constexpr std::string_view head = ":task: job=";
  if (line.substr(0, head.size()) != head)
    return false;
  line.remove_prefix(head.size());
  auto number = [&](std::string_view key, std::uint64_t& out) {
    auto end = line.find(' ');
    auto digits = line.substr(0, end);
    if (digits.empty() || end == std::string_view::npos)
      return false;
    out = 0;
    for (char c : digits) {
      if (c < '0' || c > '9')
        return false;
      out = out * 10 + static_cast<std::uint64_t>(c - '0');
    }
    line.remove_prefix(end + 1);
    if (line.substr(0, key.size()) != key)
      return false;
    line.remove_prefix(key.size());
    return true;
  };
  output_source s;
  if (!number("task=", s.job) || !number("name=", s.task))
    return false;
  s.name = std::string{line};
  src = std::move(s);
  return true;
}

void output_lines::add_line(bool err, std::string_view line, const output_source& src,
                            std::string& file_text) {
  auto i = err ? 1 : 0;
  if (!marked_[i] || last_marked_[i].job != src.job || last_marked_[i].task != src.task) {
    if (src.job != 0 || marked_[i]) // a worker's own lines before any task: no marker
      file_text += output_marker(src);
    marked_[i] = true;
    last_marked_[i] = src;
  }
  file_text.append(line);
  file_text += '\n';
  if (src.job == 0)
    return;
  pending_[src.job].push_back(log_line{err, src.tag, std::string{line}});
  pending_bytes_ += line.size() + 1;
}

void output_lines::take(bool err, std::string_view bytes, const output_source& src,
                        std::string& file_text) {
  auto& partial = partial_[err ? 1 : 0];
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    auto piece = bytes.substr(0, nl);
    if (nl == std::string_view::npos) {
      partial.append(piece);
      bytes = {};
    } else {
      bytes.remove_prefix(nl + 1);
      if (partial.empty()) {
        add_line(err, piece, src, file_text);
      } else {
        partial.append(piece);
        add_line(err, partial, src, file_text);
        partial.clear();
      }
    }
    // A line without end is cut, so that memory stays bounded.
    while (partial.size() >= max_line) {
      add_line(err, std::string_view{partial}.substr(0, max_line), src, file_text);
      partial.erase(0, max_line);
    }
  }
}

void output_lines::end_partial_lines(const output_source& src, std::string& out_text,
                                     std::string& err_text) {
  for (int i = 0; i < 2; ++i) {
    if (partial_[i].empty())
      continue;
    add_line(i == 1, partial_[i], src, i == 1 ? err_text : out_text);
    partial_[i].clear();
  }
}

std::map<std::uint64_t, std::vector<log_line>> output_lines::take_pending() {
  pending_bytes_ = 0;
  return std::exchange(pending_, {});
}

void format_log_batch(const log_batch& batch, bool color, std::string& out,
                      std::string& err) {
  auto suffix = " pid=" + std::to_string(batch.pid) + ", node=" + std::to_string(batch.node)
                + ")";
  for (auto& line : batch.lines) {
    auto& to = line.err ? err : out;
    if (color)
      to += "\033[36m";
    to += '(';
    to += line.tag;
    to += suffix;
    if (color)
      to += "\033[0m";
    to += ' ';
    to += line.text;
    to += '\n';
  }
}

void print_log_batch(const log_batch& batch) {
  static const bool out_color = ::isatty(STDOUT_FILENO) == 1;
  static const bool err_color = ::isatty(STDERR_FILENO) == 1;
  std::string out, err, unused;
  if (out_color == err_color) {
    format_log_batch(batch, out_color, out, err);
  } else {
    format_log_batch(batch, out_color, out, unused);
    unused.clear();
    format_log_batch(batch, err_color, unused, err);
  }
  if (!out.empty()) {
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  }
  if (!err.empty()) {
    std::fwrite(err.data(), 1, err.size(), stderr);
    std::fflush(stderr);
  }
}

namespace {

using clock = std::chrono::steady_clock;

/// Writes `n` bytes to `fd` (again after EINTR and short writes); returns
/// how many went, fewer when it failed.
std::size_t write_fully(int fd, const char* bytes, std::size_t n) {
  std::size_t at = 0;
  while (at < n) {
    auto w = ::write(fd, bytes + at, n - at);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    at += static_cast<std::size_t>(w);
  }
  return at;
}

/// Lines wait this long for more before they go (one message per burst).
constexpr auto batch_delay = std::chrono::milliseconds(100);
constexpr std::size_t batch_bytes = 256 * 1024;

/// The worker's output thread and what it shares with the executors.
struct output_pipes {
  int read_fd[2] = {-1, -1}; ///< stdout, stderr
  int file_fd[2] = {-1, -1};
  int wake_fd = -1; ///< eventfd: a sync was asked for
  output_sender send;

  std::mutex source_mtx;
  output_source source; ///< who writes now (under source_mtx)

  // Whether anything read is not sent yet: `busy` while the thread reads
  // (the pipe may be empty then, the lines not taken yet), `unsent` after.
  std::atomic<bool> busy{false};
  std::atomic<bool> unsent{false};
  /// Writes through stdio (std::cout, printf, std::cerr...) so far, and as
  /// many as the last sync covered: a sync with none new costs no system call.
  std::atomic<std::uint64_t> writes{0};
  std::atomic<std::uint64_t> synced_writes{0};

  std::mutex sync_mtx;
  std::condition_variable synced;
  std::uint64_t sync_asked = 0; ///< under sync_mtx
  std::uint64_t sync_done = 0;  ///< under sync_mtx

  output_lines lines; ///< the thread's own

  output_source current() {
    std::lock_guard guard{source_mtx};
    return source;
  }

  static void write_all(int fd, const std::string& text) {
    if (fd >= 0) // a full disk costs the file its lines, not the task
      write_fully(fd, text.data(), text.size());
  }

  /// Reads what both pipes hold now.
  void drain() {
    char buf[16384];
    std::string text;
    for (int i = 0; i < 2; ++i) {
      for (;;) {
        auto n = ::read(read_fd[i], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0)
          break;
        text.clear();
        lines.take(i == 1, std::string_view{buf, static_cast<std::size_t>(n)}, current(),
                   text);
        write_all(file_fd[i], text);
      }
    }
  }

  void end_partial_lines() {
    std::string out, err;
    lines.end_partial_lines(current(), out, err);
    write_all(file_fd[0], out);
    write_all(file_fd[1], err);
  }

  void send_pending() {
    for (auto& [job, batch] : lines.take_pending())
      send(job, std::move(batch));
  }

  [[noreturn]] void run() {
    pollfd fds[3] = {{read_fd[0], POLLIN, 0}, {read_fd[1], POLLIN, 0}, {wake_fd, POLLIN, 0}};
    clock::time_point first_unsent{};
    for (;;) {
      int timeout = -1;
      if (unsent.load())
        timeout = static_cast<int>(std::max<long>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(
               first_unsent + batch_delay - clock::now())
               .count()));
      ::poll(fds, 3, timeout);
      busy = true;
      drain();
      bool had = unsent.load();
      unsent = lines.has_pending() || lines.has_partial();
      busy = false;
      if (unsent && !had)
        first_unsent = clock::now();
      std::uint64_t asked = 0;
      if (fds[2].revents & POLLIN) {
        std::uint64_t n = 0;
        [[maybe_unused]] auto r = ::read(wake_fd, &n, sizeof(n));
        std::lock_guard guard{sync_mtx};
        asked = sync_asked;
      }
      bool due = unsent && (clock::now() >= first_unsent + batch_delay
                            || lines.pending_bytes() >= batch_bytes);
      if (asked || due) {
        drain();
        end_partial_lines();
        send_pending();
        unsent = false;
      }
      if (asked) {
        std::lock_guard guard{sync_mtx};
        sync_done = asked;
        synced.notify_all();
      }
    }
  }
};

output_pipes* pipes = nullptr; // set once, never freed: the thread outlives main
bool counted = false; ///< stdio's writes are counted (count_stdio_writes)

/// Replaces fd `target` by the write end of a new pipe; returns its read end.
int pipe_into(int target) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return -1;
  ::dup2(fds[1], target); // dup2 clears close-on-exec: the user's children inherit it
  ::close(fds[1]);
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  return fds[0];
}

/// stdio's stdout and stderr in a worker: they write to fds 1 and 2 as
/// before, and count their writes.
ssize_t counted_write(void* cookie, const char* bytes, std::size_t n) {
  auto at = write_fully(static_cast<int>(reinterpret_cast<std::intptr_t>(cookie)), bytes, n);
  pipes->writes.fetch_add(1);
  return at > 0 ? static_cast<ssize_t>(at) : -1;
}

FILE* counted_stream(int fd, int mode) {
  cookie_io_functions_t io{nullptr, counted_write, nullptr, nullptr};
  auto* f = ::fopencookie(reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)), "w", io);
  if (f)
    std::setvbuf(f, nullptr, mode, mode == _IONBF ? 0 : BUFSIZ);
  return f;
}

/// Points C's stdout and stderr, and C++'s cout, cerr and clog, at counted
/// streams: a task's line reaches the pipe when it ends (line-buffered), and
/// a sync knows whether there was any.
void count_stdio_writes() {
  auto* out = counted_stream(STDOUT_FILENO, _IOLBF);
  auto* err = counted_stream(STDERR_FILENO, _IONBF);
  if (!out || !err)
    return; // left as they were: syncs then look at the pipes each time
  stdout = out;
  stderr = err;
  static __gnu_cxx::stdio_sync_filebuf<char> out_buf{out};
  static __gnu_cxx::stdio_sync_filebuf<char> err_buf{err};
  std::cout.rdbuf(&out_buf);
  std::cerr.rdbuf(&err_buf);
  std::clog.rdbuf(&err_buf);
  counted = true;
}

int open_log(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

} // namespace

void start_worker_output(const std::string& dir, const std::string& file_stem,
                         output_sender send) {
  if (pipes)
    return;
  std::fflush(stdout);
  std::fflush(stderr);
  auto* p = new output_pipes;
  p->send = std::move(send);
  p->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  p->read_fd[0] = pipe_into(STDOUT_FILENO);
  p->read_fd[1] = pipe_into(STDERR_FILENO);
  if (p->wake_fd < 0 || p->read_fd[0] < 0 || p->read_fd[1] < 0)
    return; // output stays where it went; nothing waits for it
  if (!dir.empty()) {
    p->file_fd[0] = open_log(dir + "/" + file_stem + ".out");
    p->file_fd[1] = open_log(dir + "/" + file_stem + ".err");
  }
  pipes = p;
  count_stdio_writes();
  std::thread{[p] { p->run(); }}.detach();
}

void note_output_source(std::uint64_t job, std::uint64_t task, std::string_view name,
                        bool actor_method) {
  if (!pipes)
    return;
  std::lock_guard guard{pipes->source_mtx};
  auto& s = pipes->source;
  s.job = job;
  s.task = task;
  if (s.name != name) {
    s.name.assign(name);
    s.tag = output_tag(name, actor_method);
  }
}

void sync_worker_output() {
  if (!pipes)
    return;
  std::fflush(stdout);
  std::fflush(stderr);
  // No write through stdio since the last sync, and nothing the thread
  // holds: nothing to wait for, and no system call to know it (a poll per
  // batch cost 15% of the 1:1 actor call rate). Direct write(2)s to fds 1
  // and 2 are not counted: their lines go as the thread reads them.
  auto writes = pipes->writes.load();
  bool wrote = !counted || writes != pipes->synced_writes.load();
  if (!wrote && !pipes->busy.load() && !pipes->unsent.load())
    return;
  if (!counted) {
    pollfd fds[2] = {{pipes->read_fd[0], POLLIN, 0}, {pipes->read_fd[1], POLLIN, 0}};
    // In this order: a line the thread took from the pipe after the poll is
    // `busy`, then `unsent` (output_pipes::run sets them in that order).
    bool readable = ::poll(fds, 2, 0) > 0;
    if (!readable && !pipes->busy.load() && !pipes->unsent.load())
      return;
  }
  pipes->synced_writes = writes;
  std::unique_lock lock{pipes->sync_mtx};
  auto ticket = ++pipes->sync_asked;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(pipes->wake_fd, &one, sizeof(one));
  pipes->synced.wait_for(lock, std::chrono::seconds(2),
                         [&] { return pipes->sync_done >= ticket; });
}

} // namespace troupe::detail
