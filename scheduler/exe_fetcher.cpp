#include "scheduler/exe_fetcher.hpp"
#include "lib/protocol/messages.hpp"

#include <fcntl.h>
#include <memory>
#include <unistd.h>

#include <caf/all.hpp>

#include "lib/common/exe_files.hpp"

namespace troupe::sched {

namespace {

/// Copies a driver's executable into the cache in chunks, several in
/// flight, checks its hash, and tells its listener.
struct exe_fetch {
  std::string exe, hash;
  std::string what; ///< names the file in errors
  std::filesystem::path target, part;
  exe_source_actor driver;
  exe_listener listener;
  int fd = -1;
  std::uint64_t size = 0, next = 0, written = 0;
  std::uint32_t in_flight = 0;
};

void finish_fetch(caf::event_based_actor* self, const std::shared_ptr<exe_fetch>& f,
                  const std::string& why) {
  if (f->fd >= 0)
    ::close(f->fd);
  f->fd = -1;
  std::error_code ec;
  std::string failure = why;
  if (failure.empty()) {
    try {
      if (detail::file_sha256(f->part.string()) != f->hash)
        failure = "its bytes do not match the hash " + f->hash;
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  if (failure.empty()) {
    std::filesystem::rename(f->part, f->target, ec);
    if (ec)
      failure = "cannot move it into " + f->target.string() + ": " + ec.message();
  }
  if (!failure.empty())
    std::filesystem::remove(f->part, ec);
  self->send(f->listener, exe_atom::value, f->exe,
             failure.empty() ? f->target.string() : std::string{},
             failure.empty() ? std::string{}
                             : "cannot fetch " + f->what + ": " + failure);
  self->quit();
}

void ask_exe_chunks(caf::event_based_actor* self, const std::shared_ptr<exe_fetch>& f) {
  constexpr std::uint64_t chunk = 4u << 20;
  while (f->in_flight < 4 && f->next < f->size) {
    auto start = f->next;
    auto len = std::min(chunk, f->size - start);
    f->next += len;
    ++f->in_flight;
    self->request(f->driver, std::chrono::seconds(60),
                  exe_atom::value, start, len)
      .then(
        [self, f, start, len](const std::vector<char>& bytes) {
          --f->in_flight;
          if (bytes.size() != len
              || ::pwrite(f->fd, bytes.data(), bytes.size(), static_cast<off_t>(start))
                   != static_cast<ssize_t>(bytes.size())) {
            finish_fetch(self, f, "a short read or write at byte " + std::to_string(start));
            return;
          }
          f->written += len;
          if (f->written == f->size)
            finish_fetch(self, f, "");
          else
            ask_exe_chunks(self, f);
        },
        [self, f](caf::error& e) { finish_fetch(self, f, self->system().render(e)); });
  }
}

caf::behavior exe_fetcher(caf::event_based_actor* self, std::shared_ptr<exe_fetch> f) {
  std::error_code ec;
  std::filesystem::create_directories(f->target.parent_path(), ec);
  f->part = f->target.string() + ".part-" + std::to_string(::getpid());
  f->fd = ::open(f->part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (f->fd < 0) {
    finish_fetch(self, f, "cannot write " + f->part.string());
    return {};
  }
  self->request(f->driver, std::chrono::seconds(30),
                exe_atom::value)
    .then(
      [self, f](std::uint64_t size) {
        f->size = size;
        if (size == 0)
          finish_fetch(self, f, "");
        else
          ask_exe_chunks(self, f);
      },
      [self, f](caf::error& e) { finish_fetch(self, f, self->system().render(e)); });
  return {[] {}};
}

} // namespace

void spawn_exe_fetcher(caf::actor_system& sys, std::string exe, std::string hash,
                       std::filesystem::path target, exe_source_actor driver,
                       exe_listener listener, std::string what) {
  auto f = std::make_shared<exe_fetch>();
  f->exe = std::move(exe);
  f->hash = std::move(hash);
  f->target = std::move(target);
  f->driver = std::move(driver);
  f->listener = std::move(listener);
  f->what = std::move(what);
  sys.spawn(exe_fetcher, f);
}

} // namespace troupe::sched
