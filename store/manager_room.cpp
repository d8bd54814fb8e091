// Making room in a node's store: the holds of dead processes dropped, cached
// copies evicted, objects spilled (all of them, or one job's past its share).
#include "store/manager_state.hpp"

#include <filesystem>
#include <string>

#include <spdlog/spdlog.h>

namespace troupe::store {

namespace {

/// Logs what a spill of `whose` objects did; returns the bytes it freed.
std::uint64_t logged(const spill_outcome& out, const std::string& whose) {
  if (!out.error.empty())
    spdlog::warn("store: spilling {} stopped: {}", whose, out.error);
  else if (out.objects > 0)
    spdlog::info("store: spilled {} object(s) of {}, {} bytes freed", out.objects, whose,
                 out.freed);
  return out.freed;
}

/// Spills objects nobody reads (oldest first) until `bytes` more are free;
/// returns the bytes freed.
std::uint64_t spill(self_ptr self, std::uint64_t bytes) {
  auto& s = self->state;
  auto& puller = *s.puller;
  auto want = s.store->stats().free_bytes + bytes;
  return logged(s.store->spill(want, [&](std::uint64_t o) { return puller.holds_copy(o); }),
                "the store's objects");
}

} // namespace

/// Drops the holds of this node's processes that are gone; what only they
/// held is freed and leaves the directory. Returns the bytes freed.
/// `at_once`: also those found dead for the first time (the store is full:
/// room now beats waiting for an answer a dead worker may have sent).
std::uint64_t reap(self_ptr self, bool at_once) {
  std::uint64_t objects = 0, bytes = 0;
  auto n = self->state.store->reap_dead(
    [&](const freed_object& f) {
      ++objects;
      bytes += f.size;
      if (f.sealed)
        report(self, f.id, f.offset, 0, false);
    },
    !at_once);
  if (n > 0)
    spdlog::info("store: dropped the holds of {} dead process(es), freeing {} object(s) "
                 "of {} bytes",
                 n, objects, bytes);
  return bytes;
}

/// Makes the spill folder and tells the store (no folder: no spilling).
void open_spill_dir(object_store& store, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    spdlog::warn("store: no spill folder '{}' ({}): a full store refuses objects", dir,
                 ec.message());
  else
    store.set_spill_dir(dir);
}

/// A job past its share: its own objects nobody reads go to disk until
/// `bytes` more fit in its share; returns the bytes freed.
std::uint64_t spill_job(self_ptr self, std::uint64_t bytes, std::uint64_t job) {
  return logged(self->state.store->spill_job(job, bytes), "job " + std::to_string(job));
}

std::uint64_t make_room(self_ptr self, std::uint64_t bytes) {
  // A dead process's objects may be what fills the store.
  auto reaped = reap(self, true);
  if (reaped >= bytes)
    return reaped;
  auto evicted = reaped + evict_copies(self, bytes - reaped);
  if (evicted >= bytes)
    return evicted;
  return evicted + spill(self, bytes - evicted);
}

} // namespace troupe::store
