#include "store/allocator.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <new>
#include <stdexcept>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include "store/page_faults.hpp"

namespace bip = boost::interprocess;

namespace troupe::store {

namespace {

[[noreturn]] void rethrow_as_runtime_error(const char* what,
                                           const std::string& name,
                                           const std::exception& e) {
  throw std::runtime_error(std::string{what} + " shared-memory segment '"
                           + name + "': " + e.what());
}

} // namespace

allocator::~allocator() = default;

bool allocator::reserve(std::size_t, std::size_t) {
  return true;
}

void allocator::copy_in(std::size_t offset, const std::byte* src, std::size_t n) {
  std::memcpy(base() + offset, src, n);
}

// -- heap_allocator -----------------------------------------------------------

void heap_allocator::free_deleter::operator()(std::byte* p) const noexcept {
  std::free(p);
}

heap_allocator::heap_allocator(std::size_t capacity) : capacity_(capacity) {
  // Page alignment, like a mapped segment, so offsets behave the same way.
  constexpr std::size_t page = 4096;
  auto rounded = (capacity + page - 1) / page * page;
  auto* raw = static_cast<std::byte*>(std::aligned_alloc(page, rounded));
  if (raw == nullptr)
    throw std::bad_alloc();
  std::memset(raw, 0, rounded); // a fresh region is zero-filled
  buffer_.reset(raw);
}

heap_allocator::~heap_allocator() = default;

std::size_t heap_allocator::capacity() const {
  return capacity_;
}

std::byte* heap_allocator::base() const {
  return buffer_.get();
}

// -- shm_allocator ------------------------------------------------------------

struct shm_allocator::impl {
  bip::mapped_region region;
  int fd = -1; ///< the segment's file, for reserve (Boost keeps none open)

  void open_file(const std::string& name) {
    fd = ::shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
  }
  ~impl() {
    if (fd >= 0)
      ::close(fd);
  }
};

shm_allocator::shm_allocator(std::string name, std::unique_ptr<impl> impl)
  : name_(std::move(name)), impl_(std::move(impl)) {
}

shm_allocator::~shm_allocator() = default;

std::unique_ptr<shm_allocator> shm_allocator::create(const std::string& name,
                                                     std::size_t capacity) {
  // A node that crashed leaves its segment behind; its objects are lost
  // with the node, so starting fresh is right.
  remove(name);
  auto state = std::make_unique<impl>();
  try {
    bip::shared_memory_object shm(bip::create_only, name.c_str(), bip::read_write);
    shm.truncate(static_cast<bip::offset_t>(capacity));
    state->region = bip::mapped_region(shm, bip::read_write);
  } catch (const std::exception& e) {
    remove(name); // a half-made segment (e.g. ENOMEM) must not linger
    rethrow_as_runtime_error("cannot create", name, e);
  }
  state->open_file(name);
  return std::unique_ptr<shm_allocator>(
    new shm_allocator(name, std::move(state)));
}

std::unique_ptr<shm_allocator> shm_allocator::open(const std::string& name) {
  auto state = std::make_unique<impl>();
  try {
    bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_write);
    state->region = bip::mapped_region(shm, bip::read_write);
  } catch (const std::exception& e) {
    rethrow_as_runtime_error("cannot open", name, e);
  }
  state->open_file(name);
  return std::unique_ptr<shm_allocator>(
    new shm_allocator(name, std::move(state)));
}

bool shm_allocator::remove(const std::string& name) noexcept {
  return bip::shared_memory_object::remove(name.c_str());
}

std::size_t shm_allocator::capacity() const {
  return impl_->region.get_size();
}

std::byte* shm_allocator::base() const {
  return static_cast<std::byte*>(impl_->region.get_address());
}

bool shm_allocator::reserve(std::size_t offset, std::size_t bytes) {
  // KEEP_SIZE: the file is the segment's size already; this only fills in
  // its pages (not zeroed yet: the first fault of each does that).
  return impl_->fd >= 0
         && ::fallocate(impl_->fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                        static_cast<off_t>(bytes))
              == 0;
}

namespace {

// Below this, one memcpy is cheaper than asking which pages exist.
constexpr std::size_t copy_by_runs_from = 1024 * 1024;

/// Writes [src, src + n) at `offset` of file `fd`; false on an error.
bool pwrite_fully(int fd, const std::byte* src, std::size_t n, std::size_t offset) {
  while (n > 0) {
    auto done = ::pwrite(fd, src, n, static_cast<off_t>(offset));
    if (done < 0 && errno == EINTR)
      continue;
    if (done <= 0)
      return false;
    src += done;
    n -= static_cast<std::size_t>(done);
    offset += static_cast<std::size_t>(done);
  }
  return true;
}

} // namespace

void shm_allocator::copy_in(std::size_t offset, const std::byte* src, std::size_t n) {
  auto* dst = base() + offset;
  if (n < copy_by_runs_from || impl_->fd < 0) {
    std::memcpy(dst, src, n);
    return;
  }
  // Whole pages only go by pwrite; the partial ones at the ends may be
  // shared with a neighbour being written through its mapping.
  constexpr std::size_t page = 4096;
  auto head = (page - offset % page) % page;
  auto body = (n - head) / page * page;
  std::memcpy(dst, src, head);
  for_each_page_run(dst + head, body, [&](std::size_t at, std::size_t len, bool exists) {
    if (exists) {
      map_for_writing(dst + head + at, len);
      std::memcpy(dst + head + at, src + head + at, len);
    } else if (!pwrite_fully(impl_->fd, src + head + at, len, offset + head + at)) {
      std::memcpy(dst + head + at, src + head + at, len); // e.g. /dev/shm full: fault as before
    }
  });
  std::memcpy(dst + head + body, src + head + body, n - head - body);
}

} // namespace troupe::store
