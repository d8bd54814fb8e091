#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/allocator.hpp"
#include "troupe/encoding.hpp"
#include "troupe/object_id.hpp"

namespace troupe::store {

/// Where an object lives in the region: what other processes are told.
struct object_info {
  std::uint64_t offset; ///< of the object's header, relative to the base
  std::uint64_t size;   ///< number of data bytes
};

/// A newly created object, open for writing until it is sealed.
struct writable {
  std::uint64_t offset; ///< identifies the object in every process
  std::byte* data;      ///< `size` bytes in this process, 64-byte aligned
  std::size_t size;
};

/// A sealed object. Pointers stay valid while the reader holds a pin.
struct readable {
  const std::byte* data; ///< 64-byte aligned
  std::size_t size;
  troupe::object_id id;
  std::uint64_t type_hash;
  std::string_view type_name; ///< points into the region
  encoding enc;
};

/// Occupancy of the whole store, as seen by every process that maps it.
struct store_stats {
  std::size_t capacity;       ///< size of the region
  std::size_t free_bytes;     ///< free in the region (possibly fragmented)
  std::uint64_t live_objects; ///< objects created and not yet freed
  std::uint64_t bytes_in_use; ///< bytes those objects take, headers included
  std::uint64_t processes;    ///< processes that map the store
  std::uint64_t recoveries;   ///< times the lock was taken from a dead holder
  std::uint64_t spilled_objects; ///< objects whose data is only on disk
  std::uint64_t spilled_bytes;   ///< the data bytes in spill files
  std::uint64_t fallback_objects; ///< objects too large for the store, on disk
  std::uint64_t fallback_bytes;   ///< their data bytes
};

/// Where an object's data is: "memory", "spilled" (to `file`, until read
/// again), "disk" (a fallback object, always in `file`) or "gone".
struct object_place {
  std::string where;
  std::string file;
};

/// What a call of `object_store::spill` did.
struct spill_outcome {
  std::uint64_t freed = 0;   ///< bytes of the region given back
  std::uint64_t objects = 0; ///< objects spilled
  std::string error;         ///< why it stopped early (e.g. the disk is full), or ""
};

/// What an unpin or a reaping freed.
struct freed_object {
  troupe::object_id id;
  std::uint64_t offset = 0;
  std::uint64_t size = 0; ///< data bytes
  bool sealed = false;
};

/// One process's view of a node's object store: objects in a region, usually
/// shared memory that every process of the node maps. Objects are named by
/// offsets, which mean the same in every process. All methods are
/// thread-safe, and safe against other processes working on the same region,
/// including processes killed at any instruction.
///
/// Layout of the region:
///
///     [ control: robust lock, counters, process table | heap of blocks ]
///
/// and of one object (the header at a 64-byte aligned offset):
///
///     [ header 192 B | object_meta flatbuffer | pad | data ]
///
/// Data is 64-byte aligned, and page-aligned from 1 MiB on (copies into it
/// run faster).
///
/// Crash safety. Allocation, freeing and every change of who holds an
/// object happen under one robust process-shared mutex. A process killed
/// while it holds it hands the next locker EOWNERDEAD, and that locker
/// rebuilds the heap's lists from its chain of blocks and frees the objects
/// left half made or half freed (region_heap.hpp says why that is always
/// possible). Writing and reading data need no lock.
///
/// Pins. Each object records which processes hold it: one bit per process
/// slot in its header, so a dead process's holds are found and dropped
/// (`reap_dead`). Within a process, pins are counted privately; the bit is
/// set on the first and cleared with the last. A pin that passes to another
/// process (a task's result, a pulled copy) is handed over first: it becomes
/// a transit pin in the header, and the receiver adopts it as its own. An
/// object is freed when no process holds it and none is in transit.
///
/// Lifecycle of one object:
///
///     --(1) create--> created --(2) seal--> sealed --(3) last hold--> freed
///                        |                                               ^
///                        +----------------(3) last hold------------------+
///
/// 1. `create` allocates it held by the creator (one pin); it is writable.
/// 2. `seal` makes it immutable and readable through `view`.
/// 3. The last pin of the last holder frees it, also before sealing (the
///    creator gave up, or died).
class object_store {
public:
  /// Bytes of an object's fixed header (its metadata follows).
  static constexpr std::size_t header_size = 328;

  /// Works on `alloc`, which must outlive the store, and takes a slot in its
  /// process table (formatting the region when it is fresh). Several
  /// stores, in one or in several processes, may share one region. A child
  /// made by `fork` constructs its own store. Throws `std::runtime_error`
  /// when every slot is taken by a live process.
  explicit object_store(allocator& alloc);

  /// Drops this store's pins (freeing what only it held) and its slot.
  ~object_store();

  object_store(const object_store&) = delete;
  object_store& operator=(const object_store&) = delete;

  /// Allocates an object of `data_size` bytes with its metadata, pinned
  /// once, for the caller to fill and then `seal`. Throws
  /// `troupe::object_store_full` when it does not fit.
  /// `job`: the job it counts for (job_shares.hpp; 0: none); throws
  /// `troupe::job_store_limit_error` when it would take the job past the
  /// store's job limit.
  writable create(const troupe::object_id& id, std::size_t data_size,
                  std::uint64_t type_hash, std::string_view type_name,
                  encoding enc, std::uint64_t job = 0);

  /// As `create`, then copies the `size` bytes at `src` in as its data, by
  /// the fastest way for the store's pages (see `allocator::copy_in`).
  writable create_copy(const troupe::object_id& id, const std::byte* src,
                       std::size_t size, std::uint64_t type_hash,
                       std::string_view type_name, encoding enc, std::uint64_t job = 0);

  /// Fallback allocation, for an object larger than the region can ever
  /// hold or than spilling could make room for: as `create`, but the data
  /// goes to a file in the spill folder, which each process that reads the
  /// object maps (its header stays in the region, so it is named by an
  /// offset like any other). With `src`, copies those `data_size` bytes in
  /// and returns no data pointer. Throws `troupe::object_store_full` when
  /// spilling is off or the disk has no room either, and says which. Only
  /// its header counts for `job`, which is never refused here: this is
  /// where a job past its share of memory puts its objects.
  writable create_on_disk(const troupe::object_id& id, std::size_t data_size,
                          std::uint64_t type_hash, std::string_view type_name,
                          encoding enc, const std::byte* src = nullptr,
                          std::uint64_t job = 0);
  /// Whether an object of `data_size` bytes fits in the region at all (when
  /// every other object is spilled).
  bool fits_in_memory(std::size_t data_size) const;
  /// Makes the object immutable and visible to readers. Throws
  /// `std::logic_error` when it was sealed already.
  void seal(std::uint64_t offset);

  /// Returns whether the object is sealed.
  bool sealed(std::uint64_t offset) const;

  /// Adds a pin: the object stays in memory until every pin is removed.
  /// Throws `std::invalid_argument` when no object is there (it was freed).
  void pin(std::uint64_t offset);

  /// Removes a pin of this store's and frees the object when nothing holds
  /// it any more. Returns whether it was freed, and then fills `*freed`
  /// (when given). Throws `std::logic_error` when this store holds no pin.
  bool unpin(std::uint64_t offset, freed_object* freed = nullptr);

  /// Turns one of this store's pins into a transit pin, for a process that
  /// will `adopt` it (the object stays while it is in transit). Throws
  /// `std::logic_error` when this store holds no pin.
  void hand_over(std::uint64_t offset);

  /// Takes a transit pin of object `id` at `offset` as this store's own pin.
  /// Returns false when there is none: the object was freed meanwhile, or is
  /// another one (its sender died and was reaped before this ran).
  bool adopt(std::uint64_t offset, const troupe::object_id& id);

  /// Drops the holds of processes that are gone (killed, or exited without
  /// destroying their store), freeing what only they held, and frees their
  /// slots. Calls `on_freed` for each object freed. Returns how many
  /// processes were reaped. `seen_before`: only those that the previous
  /// call found dead too, so that an answer a dead process sent just before
  /// it died is taken (its transit pin adopted) before its pins go. The
  /// node's store manager calls it so every 2 s.
  std::size_t reap_dead(const std::function<void(const freed_object&)>& on_freed = {},
                        bool seen_before = false);

  /// Spilling. Sets the folder where every process of the node writes and
  /// reads spill files (kept in the region; "" turns spilling off).
  void set_spill_dir(const std::string& dir);

  /// Spills sealed objects that no process reads, oldest first, until
  /// `bytes` bytes of the region are free or none is left: their data goes
  /// to a file each (once: an object read back keeps its file) and their
  /// memory back to the heap; the header stays where it is, so offsets held
  /// anywhere stay valid. `skip` names offsets to leave (a manager's cached
  /// copies, which it evicts instead).
  spill_outcome spill(std::uint64_t bytes,
                      const std::function<bool(std::uint64_t)>& skip = {});

  /// As `spill`, for one job past its share: spills that job's objects
  /// until `bytes` more fit in its share (or none is left).
  spill_outcome spill_job(std::uint64_t job, std::uint64_t bytes);

  /// Sets the region bytes one job's objects may take (0: no limit; kept in
  /// the region, for every process of the node). Objects over it stay.
  void set_job_limit(std::uint64_t bytes);
  /// Returns the job limit (0: none).
  std::uint64_t job_limit() const;
  /// Returns the region bytes `job`'s objects take.
  std::uint64_t job_bytes(std::uint64_t job) const;
  /// Returns (job, region bytes) of every job holding objects here.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> job_shares() const;

  /// Starts reading the sealed object at `offset`, which the caller holds a
  /// pin (or a read) of: while this process reads it, it is neither spilled
  /// nor freed. An object in memory takes no lock. A spilled object is read back first (into new
  /// memory: throws `troupe::object_store_full` when there is none; the
  /// caller makes room and asks again). Waits while another process spills
  /// or reads it back. Throws `std::invalid_argument` when no sealed object
  /// is there.
  readable read(std::uint64_t offset);

  /// Ends one `read` of this process's; as `unpin`, frees the object when
  /// that was the last hold of any process, and then fills `*freed`.
  bool end_read(std::uint64_t offset, freed_object* freed = nullptr);

  /// Returns the sealed object at `offset`. Throws `std::invalid_argument`
  /// when no sealed object is there, so that a malformed offset from another
  /// process is an error and not a crash.
  readable view(std::uint64_t offset) const;

  /// Returns how many pins the object has as this store sees them: its own,
  /// plus one per other process that holds it, plus those in transit.
  std::uint32_t pins(std::uint64_t offset) const;

  /// Returns where the object at `offset` has its data now.
  object_place place(std::uint64_t offset) const;
  /// Returns the spill folder ("" when spilling is off).
  std::string spill_dir() const;
  /// Returns the occupancy of the store.
  store_stats stats() const;

  /// Returns a one-line summary, e.g. for `troupe status`.
  std::string describe() const;

  /// Returns the high-water mark: the end (as an offset) of the furthest
  /// object ever created, by any process. The heap splits the free block it
  /// takes from its front, so a region fills from its start and the bytes
  /// beyond the mark were never written.
  std::uint64_t high_water() const;

private:
  struct header;
  struct state;

  header& checked_header(std::uint64_t offset) const;
  /// `view` of the sealed object `h` at `offset`; checks its metadata
  /// unless `verified` says this process did (then sets it).
  readable view_of(std::uint64_t offset, header& h, bool& verified) const;
  header* live_header(std::uint64_t offset) const;
  /// `create` without preparing the data's pages for the writer.
  /// `on_disk`: only the header, marked external (create_on_disk).
  writable allocate_object(const troupe::object_id& id, std::size_t data_size,
                           std::uint64_t type_hash, std::string_view type_name,
                           encoding enc, std::uint64_t job, bool on_disk = false);
  /// Counts `delta` region bytes for the object `h` (under the lock): in
  /// the store's bytes in use and in its job's share.
  void charge_locked(const header& h, std::int64_t delta);
  /// Spills the objects that may be spilled and that `take` names, oldest
  /// first, until `enough()` (asked under the lock).
  spill_outcome spill_where(const std::function<bool(const header&, std::uint64_t)>& take,
                            const std::function<bool()>& enough);
  /// The data of fallback object `h` at `offset`, mapped in this process.
  const std::byte* disk_data(std::uint64_t offset, const header& h) const;
  /// Unmaps a fallback object's file once this process holds it no more
  /// (nothing when it maps none).
  void unmap_disk_data(std::uint64_t offset);
  void raise_high_water(std::uint64_t end);
  /// Frees an object that nothing holds (under the lock) and fills
  /// `*freed`; false when a process is spilling or reading it back (it is
  /// freed by that process).
  bool free_locked(header& h, freed_object* freed = nullptr);
  /// Bytes of the region the object takes in `state`.
  static std::uint64_t memory_of(const header& h, std::uint32_t state);
  /// Removes the object's spill file and its count.
  void forget_spill_file(header& h, std::uint64_t offset);
  /// Undoes a spill or a read-back whose process died (under the lock).
  void abandon_locked(header& h);
  /// The spill file of the object at `offset`.
  std::string spill_path(const header& h, std::uint64_t offset) const;
  /// Spills one object; false when it was not (read or gone meanwhile, or
  /// the write failed: `out.error`).
  bool spill_one(std::uint64_t offset, spill_outcome& out);
  /// Reads a spilled object's file into its new data block; true when it is
  /// back and this process reads it, false when it was freed meanwhile.
  bool restore(std::uint64_t offset, header& h);
  /// Makes the region whole after a holder of the lock died (under it).
  void recover();

  allocator& alloc_;
  std::unique_ptr<state> state_;
  std::int32_t pid_; // written into each object's metadata
};

} // namespace troupe::store
