#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "lib/core/task_name.hpp"
#include "lib/protocol/messages.hpp"
#include "lib/protocol/status.hpp"
#include "lib/protocol/stored_value.hpp"
#include "lib/protocol/stream_actor.hpp"
#include "troupe/codec.hpp"
#include "troupe/get.hpp"
#include "troupe/object_ref.hpp"
#include "troupe/stream.hpp"

namespace troupe::detail {

class object_table;

/// One process's hold on an object (see object_ref.hpp).
///
/// A table owned by a `shared_ptr` (the client's) is held weakly: a ref that
/// outlives `shutdown` releases nothing. A table owned otherwise (tests)
/// must outlive its refs.
class ref_handle {
public:
  ref_handle(object_table* table, std::weak_ptr<object_table> shared, object_id id,
             caf::actor owner)
    : table_(table), shared_(std::move(shared)), id_(id), owner_(std::move(owner)) {
  }
  ~ref_handle();
  ref_handle(const ref_handle&) = delete;
  ref_handle& operator=(const ref_handle&) = delete;

  [[nodiscard]] const object_id& id() const noexcept { return id_; }
  [[nodiscard]] const caf::actor& owner() const noexcept { return owner_; }
  /// Returns the table while it exists, else nullptr.
  [[nodiscard]] std::shared_ptr<object_table> table() const;

private:
  object_table* table_;
  std::weak_ptr<object_table> shared_; ///< empty when the table is not shared
  object_id id_;
  caf::actor owner_;
};

/// Stream ids are object ids apart from the others (the top bit of `seq`
/// set, a stream number above bit 32): the k-th item of a stream is the
/// object `stream_item_id(stream, k)`, which the producer stores and the
/// submitter receives without asking for ids. Up to 2^31 streams per
/// process and 2^32 - 1 items per stream.
inline constexpr std::uint64_t stream_bit = 1ULL << 63;

/// Returns the id of item `k` (1-based) of `stream`.
constexpr object_id stream_item_id(const object_id& stream, std::uint64_t k) noexcept {
  return {stream.owner, stream.seq + k};
}

/// One process's hold on a stream it consumes (see stream.hpp): the
/// generator call's own object, pending until the generator ends. Dropping
/// it drops the items not taken and tells the producer to stop.
class stream_handle {
public:
  explicit stream_handle(ref_ptr done) : done_(std::move(done)) {}
  ~stream_handle();
  stream_handle(const stream_handle&) = delete;
  stream_handle& operator=(const stream_handle&) = delete;

  [[nodiscard]] const object_id& id() const noexcept { return done_->id(); }
  [[nodiscard]] const ref_ptr& done() const noexcept { return done_; }

private:
  ref_ptr done_;
};

/// What this process knows of each object it owns or borrows.
///
/// Object states (owner's view):
///
///     pending --(1) result arrives--> ready
///     pending --(2) task fails------> failed
///     any ------(3) no handle, no escape, not pending--> erased
///
/// A borrowed entry (owned elsewhere) starts pending and becomes ready or
/// failed when the owner answers a fetch (4); it is erased with its last
/// handle. Thread-safe: user threads call `get`/`wait`, the core actor
/// fulfils.
///
/// Distributed reference counting (Ray's borrowers): an owned entry stays
/// while this process holds a handle, while another process borrows it, and
/// while it is pending. Every process that made an entry for a ref owned
/// elsewhere is registered with the owner as a borrower (the `borrow` hook:
/// the core actor sends it, and the owner acknowledges), and unregistered
/// when that entry goes (the `unborrow` hook, sent only once every
/// registration before it was acknowledged: a carrier of the ref is never
/// let go before its receiver is counted; lib/core/borrowing.hpp). Refs
/// serialized into a value are held with its bytes (`encoded_value::nested`):
/// by the task that carries them as arguments, or by the object they were
/// put or returned in (`hold_nested`) until that object is erased. A worker
/// registers a result's caller for the refs inside it beforehand (`lend`),
/// and the caller takes those registrations over (`adopt`). A borrower that
/// dies is dropped (`drop_borrower`). Refs serialized outside an encoding
/// (`mark_escaped`) keep their owned object for the process's life.
///
/// Streams this process consumes (generators it called) have a state of
/// their own beside their object: the items that arrived, by index (each an
/// owned ready entry the stream holds one handle of until it is taken), how
/// many were taken and acknowledged to the producer, and how many there are
/// once the generator ended.
class object_table : public std::enable_shared_from_this<object_table> {
public:
  /// Releases store pins when values leave the table.
  using unpin_fn = std::function<void(std::uint64_t offset, std::uint64_t node)>;
  /// Pins a store object for a reader; returns the keepalive that unpins it.
  using view_fn = std::function<raw_value(const stored_value&)>;

  object_table(std::uint64_t owner_id, unpin_fn unpin, view_fn view)
    : owner_id_(owner_id), unpin_(std::move(unpin)), view_(std::move(view)) {
  }

  void set_self(caf::actor self) { self_ = std::move(self); }

  /// Creates a pending object owned by this process (1 handle).
  ref_ptr create_owned(const object_id& id, task_name name);

  /// Creates a ready object owned by this process (a `put`).
  ref_ptr create_ready(const object_id& id, stored_value value);

  /// Returns a handle for a ref that arrived from another process.
  ref_ptr from_wire(const object_id& id, const caf::actor& owner);

  /// A ready object whose stored value was lost (its node died) is pending
  /// again: its owner rebuilds it, or a borrower fetches it anew. Returns
  /// false when it is not ready in a store (unknown, pending, failed, or
  /// held inline).
  bool reset_lost(const object_id& id);

  /// Returns what a borrower is told of object `id`: its value, or why it
  /// has none; sets `*pending` when it has neither yet.
  object_reply reply_for(const object_id& id, bool* pending);

  /// Returns the owner of a borrowed object (null when owned or unknown).
  caf::actor owner_of(const object_id& id) const;

  /// Returns the owner id of this process's objects.
  std::uint64_t owner_id() const noexcept { return owner_id_; }

  /// Sets the value of a pending object; returns false if it is unknown.
  bool fulfill(const object_id& id, stored_value value);

  /// Lets go of a value that no object takes (a result dropped as a
  /// duplicate): its pin in a store, if it has one, is released.
  void discard(const stored_value& value) {
    if (value.in_store)
      unpin_(value.offset, value.node);
  }

  /// Fails a pending object; returns false if it is unknown.
  bool fail(const object_id& id, error_info error);

  /// Records `owner` (found by its owner id) for borrowed entries without one.
  void set_owner(std::uint64_t owner_id, const caf::actor& owner);

  /// Fails every pending borrowed object owned by `owner`.
  std::vector<object_id> fail_borrowed_from(const caf::actor_addr& owner,
                                            const error_info& error);

  void mark_escaped(const object_id& id);

  // Borrowers (object_borrowers.cpp).

  /// Asks the core actor to register `borrower` (null: this process) with
  /// the owner of borrowed object `id`.
  using borrow_fn = std::function<void(const object_id& id, const caf::actor_addr& borrower)>;
  /// Asks the core actor to drop `count` registrations of this process with
  /// `owner` (null: look it up) for object `id`.
  using unborrow_fn =
    std::function<void(const object_id& id, const caf::actor& owner, std::uint32_t count)>;
  /// An owned actor's last handle anywhere is gone.
  using unreferenced_fn = std::function<void(const object_id& actor)>;
  void set_borrow_hooks(borrow_fn borrow, unborrow_fn unborrow, unreferenced_fn unreferenced);

  /// Counts `count` registrations of `borrower` for owned object `id`;
  /// returns false when the object is not held here (any more).
  bool add_borrower(const object_id& id, const caf::actor_addr& borrower,
                    std::uint32_t count);
  /// Drops `count` registrations of `borrower` for owned object `id`.
  void remove_borrower(const object_id& id, const caf::actor_addr& borrower,
                       std::uint32_t count);
  /// Drops every registration of a borrower that is gone.
  void drop_borrower(const caf::actor_addr& borrower);
  /// Returns the processes that borrow owned object `id` (for tests, status).
  std::size_t borrower_count(const object_id& id) const;

  /// Registers `beneficiary` (another process's core) as a borrower of
  /// `id`, which this process holds a handle of: a result nested with it
  /// goes there. Counted as unacknowledged until `borrow_done`.
  void lend(const object_id& id, const caf::actor_addr& beneficiary);
  /// Takes a handle for a ref a worker registered this process for (see
  /// `lend`): the registration becomes this entry's.
  ref_ptr adopt(const object_id& id);
  /// Keeps `refs` (serialized into object `id`'s value) while `id` is held.
  void hold_nested(const object_id& id, std::vector<ref_ptr> refs);

  /// The core actor finished a registration (acknowledged or failed).
  void borrow_done();
  /// Returns how many registrations are not acknowledged yet.
  std::uint32_t unacknowledged() const noexcept { return unacked_.load(); }
  /// Waits until every registration made so far is acknowledged; returns
  /// false at `until`.
  bool wait_acknowledged(std::chrono::steady_clock::time_point until);

  /// Marks owned object `id` as an actor's lifetime: when it is erased (no
  /// handle left anywhere), `unreferenced` is called.
  ref_ptr create_actor_lifetime(const object_id& id);

  /// Called by ref_handle's destructor.
  void release(const object_id& id);

  /// How often blocked getters were woken (by a result, a failure, a
  /// stream item, or the end of a wakeup_batch that held some back).
  std::uint64_t wakeups() const noexcept { return wakeups_.load(); }

  /// While one lives, getters blocked on the table are not woken per object
  /// that becomes ready or fails, but once, when the last one ends: a batch
  /// of results costs a blocked `get` one wake-up, not one per result.
  class wakeup_batch {
  public:
    explicit wakeup_batch(object_table& table);
    ~wakeup_batch();
    wakeup_batch(const wakeup_batch&) = delete;
    wakeup_batch& operator=(const wakeup_batch&) = delete;

  private:
    object_table& table_;
  };

  enum class status { pending, ready, failed, unknown };

  /// Returns the object's status and, when ready/failed, its value or error.
  status peek(const object_id& id, stored_value* value = nullptr,
              error_info* error = nullptr, std::string* task_name = nullptr);

  /// Returns the object's status; when it is ready in the store of a node
  /// other than `node`, copies its value to `*pullable` (no copy for the
  /// rest, which need no pull).
  status peek_pullable(const object_id& id, std::uint64_t node, stored_value* pullable,
                       bool* found);

  /// Appends to `out` the values of `refs[from]`, `refs[from + 1]`, ...
  /// while they are ready here inline (no pull, no store view to map), all
  /// under one lock; returns how many. `get_many` reads runs of results
  /// so, where `get` would lock and look each up twice (and contend with
  /// the core fulfilling the next ones).
  std::size_t read_ready(const std::vector<ref_ptr>& refs, std::size_t from,
                         std::vector<raw_value>& out);

  /// Returns true the first time it is called for a pending borrowed object,
  /// so exactly one fetch goes to its owner.
  bool claim_fetch(const object_id& id, caf::actor* owner);

  /// Blocks until the object is ready; throws its error, or `timeout_error`.
  /// `on_block` runs (once, unlocked) before the first wait. `until` is
  /// fixed when the wait first blocks, for the caller's next wait too.
  raw_value wait_value(const object_id& id, const deadline& until,
                       const std::function<void()>& on_block);

  /// Blocks until `num` of `ids` are ready or failed, or `until` passes.
  void wait_many(const std::vector<object_id>& ids, std::size_t num,
                 const deadline& until, std::vector<bool>& ready,
                 const std::function<void()>& on_block);

  /// Returns the borrowed objects still pending.
  std::vector<object_id> pending_borrowed() const;

  /// Fills a stored object's row with where its data is (see object_row).
  using place_fn = std::function<void(const stored_value&, object_row&)>;
  /// Returns the entries (at most `limit`): id, owned, state, size, and the
  /// node whose store holds it (0: in the owner), and `place`'s word on a
  /// stored one's data.
  std::vector<object_row> object_rows(std::size_t limit, const place_fn& place = {}) const;

  /// Returns the number of entries (for tests and status).
  std::size_t size() const;

  /// Returns whether the object is in the table.
  bool contains(const object_id& id) const;

  /// Calls `wake` once the object is ready or failed, on the thread that
  /// fulfils or fails it (so `wake` only posts). Returns false, dropping
  /// `wake`, if it is not pending now.
  bool when_ready(const object_id& id, std::function<void()> wake);

  // Streams (object_streams.cpp).

  /// Acknowledges to the producer how many items the consumer took.
  using ack_fn = std::function<void(const stream_actor& producer, std::uint64_t taken)>;

  /// Returns the id of a new stream (the generator call's object, created
  /// afterwards with `create_owned`) whose producer runs at most
  /// `backpressure` items ahead (0: unbounded).
  object_id open_stream(std::uint32_t backpressure);

  /// Item `index` of `stream` arrived from `producer`. Returns false if
  /// nobody consumes the stream any more: the item is dropped, and the
  /// producer should be told to stop.
  bool push_item(const object_id& stream, std::uint64_t index, stored_value value,
                 const stream_actor& producer);

  /// The generator of `stream` ended after `count` items; its object is
  /// fulfilled or failed right after.
  void end_stream(const object_id& stream, std::uint64_t count);

  /// Returns the stream's next item (a ref the caller now holds), waiting
  /// for it, or nullptr after the last one; throws the generator's error
  /// after its items, or `timeout_error`. Tells the producer, through `ack`
  /// (unlocked), how many items were taken: every `backpressure / 2`, and
  /// all of them before it waits.
  ref_ptr next_item(const object_id& stream, const deadline& until, const ack_fn& ack,
                    const std::function<void()>& on_block);

  /// Calls `wake` (once or more) when the stream's next item arrives or the
  /// stream ends; returns false, dropping `wake`, if `next_item` would
  /// return at once. Else, as `next_item` before it waits, tells the
  /// producer through `ack` of every item taken.
  bool when_next(const object_id& stream, const std::function<void()>& wake,
                 const ack_fn& ack);

  /// The consumer dropped the stream: its items not taken are released.
  /// Returns the producer to tell to stop (none when unknown yet, or when
  /// the generator ended).
  stream_actor close_stream(const object_id& stream);

private:
  struct entry {
    status st = status::pending;
    bool owned = false;
    bool escaped = false;
    bool fetch_sent = false;
    std::uint32_t handles = 0;
    stored_value value;
    /// Set when failed: boxed, since few objects fail and an error_info is
    /// about 100 bytes (a million queued results hold a million entries).
    std::shared_ptr<const error_info> error;
    detail::task_name task_name;
    bool actor_lifetime = false; ///< see create_actor_lifetime
    std::uint32_t registrations = 0; ///< borrowed: counted by the owner for us
    caf::actor owner; ///< for borrowed entries
    std::vector<std::function<void()>> wakers; ///< see when_ready
    /// Owned: the processes that borrow it, and how often each registered.
    std::vector<std::pair<caf::actor_addr, std::uint32_t>> borrowers;
    std::vector<ref_ptr> nested; ///< see hold_nested
  };

  struct stream_state {
    std::uint32_t backpressure = 0;
    std::map<std::uint64_t, object_id> items; ///< arrived, not taken: index -> id
    std::uint64_t taken = 0;
    std::uint64_t acked = 0;
    std::optional<std::uint64_t> total; ///< set when the generator ended
    stream_actor producer;             ///< known with the first item
    std::vector<std::function<void()>> wakers; ///< see when_next
  };

  ref_ptr make_handle(const object_id& id, const caf::actor& owner);
  /// What erased entries leave to do once the lock is released: store pins
  /// to remove (offset, node), and nested refs to let go.
  struct unpin_list {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> pins;
    std::vector<ref_ptr> nested;
    void emplace_back(std::uint64_t offset, std::uint64_t node) {
      pins.emplace_back(offset, node);
    }
  };
  /// Does (unlocked) what erased entries left.
  void settle(unpin_list& left);
  void erase_if_unused(std::unordered_map<object_id, entry>::iterator it,
                       unpin_list& unpins);
  static void count_borrower(entry& e, const caf::actor_addr& borrower,
                             std::uint32_t count);
  /// Takes `count` registrations of `borrower` back; false if it had none.
  static bool uncount_borrower(entry& e, const caf::actor_addr& borrower,
                               std::uint32_t count);
  /// Borrowed entry `e` was made for a ref from elsewhere: register it.
  void register_new(const object_id& id, entry& e);
  raw_value to_raw(const stored_value& v);
  /// Runs callbacks of `when_ready` (outside the lock).
  static void wake(std::vector<std::function<void()>>& wakers);
  /// Whether getters are woken now (under mtx_): not while a wakeup_batch
  /// lives, which then wakes them when it ends.
  bool notify_now_locked();
  void wake_getters();

  std::uint64_t owner_id_;
  caf::actor self_;
  unpin_fn unpin_;
  view_fn view_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::uint32_t batches_ = 0;  ///< wakeup_batch scopes alive (under mtx_)
  bool batch_missed_ = false;  ///< a wake-up they held back (under mtx_)
  std::atomic<std::uint64_t> wakeups_{0};
  std::unordered_map<object_id, entry> entries_;
  std::unordered_map<object_id, stream_state> streams_;
  std::atomic<std::uint64_t> next_stream_{1};
  borrow_fn borrow_;
  unborrow_fn unborrow_;
  unreferenced_fn unreferenced_;
  std::atomic<std::uint32_t> unacked_{0};
  std::mutex acked_mtx_;
  std::condition_variable acked_cv_;
};

} // namespace troupe::detail
