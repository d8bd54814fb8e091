// Fallback allocation: an object too large for the region lives in a file of
// the spill folder from the start (Ray calls this fallback allocation). Its
// header is in the region like any other's, marked external, so it is named
// by an offset, pinned, handed over, reaped and freed (its file unlinked) as
// every object is; only its data is elsewhere. Each process maps the file
// when it first views the object, and unmaps it with its last hold.
#include "store/object_layout.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "troupe/errors.hpp"

namespace troupe::store {

using namespace layout;

namespace {

/// Closes a file descriptor when it goes out of scope.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

bool object_store::fits_in_memory(std::size_t data_size) const {
  // A large object's data is one page-aligned block of the main heap.
  return data_size + page_size <= state_->heap->size();
}

writable object_store::create_on_disk(const troupe::object_id& id, std::size_t data_size,
                                      std::uint64_t type_hash, std::string_view type_name,
                                      encoding enc, const std::byte* src,
                                      std::uint64_t job) {
  auto& st = *state_;
  auto refuse = [&](const std::string& why) {
    return troupe::object_store_full("object store full: " + std::to_string(data_size)
                                     + " bytes requested, store holds "
                                     + std::to_string(alloc_.capacity()) + " bytes, and "
                                     + why);
  };
  if (st.control->spill_dir[0] == '\0')
    throw refuse("spilling is off (no spill folder) for a fallback file");
  auto w = allocate_object(id, data_size, type_hash, type_name, enc, job, true);
  auto& h = checked_header(w.offset);
  auto path = spill_path(h, w.offset);
  auto give_up = [&](const std::string& what) {
    auto error = std::string{std::strerror(errno)};
    unpin(w.offset); // frees the header and unlinks the file
    throw refuse("the disk has no room either: cannot " + what + " " + path + ": " + error);
  };
  fd_guard file{::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (file.fd < 0)
    give_up("create");
  // Reserved whole now: a full disk fails here, with a name, rather than
  // with SIGBUS when a page of the mapping is first written.
  if (auto r = ::posix_fallocate(file.fd, 0, static_cast<off_t>(data_size)); r != 0) {
    errno = r;
    give_up("reserve " + std::to_string(data_size) + " bytes for");
  }
  if (src != nullptr) {
    // Written through the file: no page faults of a fresh mapping.
    auto error = transfer_file<true>(file.fd, const_cast<std::byte*>(src), data_size);
    if (!error.empty()) {
      unpin(w.offset);
      throw refuse("cannot write " + path + ": " + error);
    }
    return w;
  }
  auto* at = ::mmap(nullptr, data_size, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd, 0);
  if (at == MAP_FAILED)
    give_up("map");
  std::lock_guard guard{st.maps_mtx};
  st.maps[w.offset] = {static_cast<std::byte*>(at), data_size, id};
  st.mapped.store(st.maps.size(), std::memory_order_relaxed);
  w.data = static_cast<std::byte*>(at);
  return w;
}

object_place object_store::place(std::uint64_t offset) const {
  auto& st = *state_;
  store_lock lock{*st.control, st.recover};
  auto* h = live_header(offset);
  if (h == nullptr)
    return {"gone", {}};
  if (h->external())
    return {"disk", spill_path(*h, offset)};
  auto state = h->state.load(std::memory_order_relaxed);
  if (state == state_spilled || state == state_spilling)
    return {"spilled", spill_path(*h, offset)};
  return {"memory", {}};
}

std::string object_store::spill_dir() const {
  auto& st = *state_;
  store_lock lock{*st.control, st.recover};
  return st.control->spill_dir;
}

const std::byte* object_store::disk_data(std::uint64_t offset, const header& h) const {
  auto& st = *state_;
  std::lock_guard guard{st.maps_mtx};
  auto it = st.maps.find(offset);
  if (it != st.maps.end() && it->second.id == h.id())
    return it->second.at;
  if (it != st.maps.end()) { // an object freed since, its offset reused
    ::munmap(it->second.at, it->second.size);
    st.maps.erase(it);
  }
  auto path = spill_path(h, offset);
  fd_guard file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0)
    throw std::runtime_error("cannot open the file of object " + h.id().to_string() + ", "
                             + path + ": " + std::strerror(errno));
  auto* at = ::mmap(nullptr, h.data_size, PROT_READ, MAP_SHARED, file.fd, 0);
  if (at == MAP_FAILED)
    throw std::runtime_error("cannot map the file of object " + h.id().to_string() + ", "
                             + path + ": " + std::strerror(errno));
  st.maps[offset] = {static_cast<std::byte*>(at), h.data_size, h.id()};
  st.mapped.store(st.maps.size(), std::memory_order_relaxed);
  return static_cast<std::byte*>(at);
}

void object_store::unmap_disk_data(std::uint64_t offset) {
  auto& st = *state_;
  if (st.mapped.load(std::memory_order_relaxed) == 0)
    return; // the common case: no fallback object mapped, no lock
  std::lock_guard guard{st.maps_mtx};
  auto it = st.maps.find(offset);
  if (it == st.maps.end())
    return;
  ::munmap(it->second.at, it->second.size);
  st.maps.erase(it);
  st.mapped.store(st.maps.size(), std::memory_order_relaxed);
}

} // namespace troupe::store
