#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "lib/protocol/messages.hpp"
#include "lib/core/object_table.hpp"
#include "lib/core/placement.hpp"
#include "lib/core/light_directory.hpp"
#include "lib/core/result_outbox.hpp"
#include "lib/core/submitter.hpp"
#include "store/allocator.hpp"
#include "store/object_store.hpp"
#include "troupe/runtime.hpp"
#include "troupe/task.hpp"

namespace troupe::net {
class transport;
} // namespace troupe::net

namespace troupe::detail {

/// Values up to this size travel inside messages; larger ones go to the store.
inline constexpr std::size_t max_inline_bytes = 100 * 1024;

enum class process_role { driver, worker };

/// The stored value of a ready object cannot be fetched: its only copy was
/// lost (its node died). `get` then asks for it to be rebuilt.
class lost_value : public error {
public:
  lost_value(const std::string& what, const object_id& id)
    : error(error_kind::object_lost, what), id_(id) {}
  /// Returns the object that was lost.
  [[nodiscard]] const object_id& id() const noexcept { return id_; }

private:
  object_id id_;
};

/// A process's connection to its node: the actor system, the core actor, the
/// object table and the mapped store. One per process (driver or worker).
class client {
public:
  /// Returns the process's client, or throws `error` (runtime) if `init` has
  /// not run.
  static client& get();
  /// Returns the process's client or nullptr.
  static client* try_get() noexcept;

  /// Connects to the node whose control store listens at `host:port`;
  /// `embedded`: the node lives only as long as this driver;
  /// `log_to_driver`: a driver prints its job's worker output.
  client(process_role role, const std::string& host, std::uint16_t port,
         bool embedded = false, bool log_to_driver = true);
  ~client();

  /// Stops the actor system; waits for nothing remote.
  void close();

  /// Queues a task for the core actor, named `name` (the function's name if
  /// empty) and placed by `where`; `adjust` may mark it as an actor creation
  /// or method call before it is queued.
  ref_ptr submit(const function_entry& fn, std::vector<task_arg>&& args,
                 task_name name, placement where,
                 const std::function<void(task_record&)>& adjust = {});
  raw_value get(const ref_ptr& ref, const deadline& until);
  /// Returns the values of `refs` in order, as `get` of each would, with
  /// their owners asked and their pulls from other nodes made at once.
  std::vector<raw_value> get_many(const std::vector<ref_ptr>& refs, const deadline& until);
  void wait(const std::vector<ref_ptr>& refs, std::size_t num, const deadline& until,
            std::vector<bool>& ready);
  /// Stores `value` as a new object owned here (`in_store`: in the node's
  /// store even when small; see `put_options`).
  ref_ptr put(encoded_value&& value, bool in_store = false);

  /// Stores an encoded value: inline when small (unless `in_store`), else in
  /// the node's store. An object owned by another process (a result, an
  /// item) goes to it: its pin is handed over (`stored_value::transit`).
  stored_value store_value(encoded_value& value, const object_id& id,
                           bool in_store = false);
  /// Creates object `id` in the node's store holding `value`'s bytes (not
  /// sealed); a full store first evicts cached copies. Throws
  /// `object_store_full` when it does not fit.
  store::writable create_in_store(const object_id& id, encoded_value& value);
  /// Returns a reader's view of a stored value, pinned while it lives. A
  /// value in another node's store is pulled into this node's first.
  raw_value view_stored(const stored_value& v);
  /// Returns a reader's view of the copy of `v` pulled into this node's
  /// store at `local`, whose pin this process adopted: the view lets it go.
  raw_value view_pulled(const stored_value& v, std::uint64_t local);
  /// Starts a read of the object at `offset` of this node's store (`size`
  /// data bytes), reading it back from disk if it was spilled, with room
  /// made by the node's manager when the store is full.
  store::readable read_in_store(std::uint64_t offset, std::uint64_t size);
  /// Adds a pin to a stored value, in whichever node's store it is.
  void pin_stored(const stored_value& v);
  /// Adds a pin to a stored value for the process `v` is sent to: in this
  /// node's store it is handed over (`v.transit`), in another node's that
  /// node's manager holds it.
  void pin_for_receiver(stored_value& v);
  /// Takes the pin handed over with a received value (a no-op unless
  /// `v.transit`). Returns false when the object is gone: its sender died,
  /// and its holds were dropped, before this ran.
  bool adopt_stored(stored_value& v);
  /// Removes a pin from an object in the store of node `node`.
  void unpin_stored(std::uint64_t offset, std::uint64_t node);
  /// Removes a pin from an object in this node's store; a freed object
  /// leaves the control store's object directory.
  void release_local_pin(std::uint64_t offset);
  /// Removes a pin (`pin`) or ends a read of an object in this node's store,
  /// as release_local_pin says.
  void release_local(std::uint64_t offset, bool pin);
  /// Returns the cluster's nodes (asks the control store).
  node_list list_nodes();

  /// Async actor methods: the refs whose values go to callers, kept alive
  /// from the executor until the core actor takes them over.
  void park_forward(ref_ptr ref);
  ref_ptr unpark_forward(const object_id& id);

  /// Moves the tasks submitted since the last call to `out`.
  void take_submissions(std::vector<task_record>& out);

  caf::actor_system& system() noexcept { return *system_; }
  object_table& table() noexcept { return *table_; }
  store::object_store* store() noexcept { return mapping_ ? mapping_->store.get() : nullptr; }
  const node_info& node() const noexcept { return node_; }
  /// Returns where this process takes direct connections (port 0: nowhere).
  const endpoint& address() const noexcept { return address_; }
  /// Returns the most direct connections this process opens to its peers.
  std::size_t max_direct_peers() const noexcept { return max_direct_peers_; }
  const core_actor& core() const noexcept { return core_; }
  /// Where light actors' results go to be sent a burst at a time (a
  /// worker's; null in a driver).
  const result_outbox_actor& result_outbox() const noexcept { return result_outbox_; }
  /// The light actors this process hosts, by CAF id (a worker's).
  light_directory& light_actors() noexcept { return light_actors_; }
  const control_store_actor& control_store() const noexcept { return control_store_; }
  process_role role() const noexcept { return role_; }
  std::uint64_t owner_id() const noexcept { return owner_id_; }
  const std::string& exe() const noexcept { return exe_; }
  std::uint64_t job_id() const noexcept { return job_id_; }
  /// The job this thread works for: the task's running here, else this
  /// driver's (0 in a worker outside tasks).
  std::uint64_t current_job() const noexcept;

  /// Workers: the worker id given by the node, and whether a task is running
  /// (a `get` inside a task tells the scheduler the worker is blocked).
  std::uint64_t worker_id = 0;
  std::atomic<bool> in_task{false};
  /// Workers hosting an actor: whether it is a rebuilt instance (set before
  /// its factory runs; a worker hosts one actor in its life).
  std::atomic<bool> actor_restarted{false};
  /// Set by `shutdown` before it stops the node, which is then no surprise.
  std::atomic<bool> closing{false};

  /// Returns a fresh object id owned by this process.
  object_id next_object_id() noexcept {
    return {owner_id_, next_seq_.fetch_add(1, std::memory_order_relaxed)};
  }

private:
  void connect(const std::string& host, std::uint16_t port, bool embedded);
  /// Reads object `v` of this node's store; `pinned`: the view also owns a
  /// pin of it, let go with the view (or here, when the read fails).
  raw_value view_local(const stored_value& v, bool pinned);
  /// Opens this process's port for direct connections from its peers.
  void listen_for_peers();

  process_role role_;
  std::string exe_;
  std::uint64_t owner_id_;
  std::atomic<std::uint64_t> next_seq_{1};
  std::atomic<std::uint64_t> next_task_{1};
  std::uint64_t job_id_ = 0;
  bool log_to_driver_ = true;
  std::unique_ptr<caf::actor_system_config> config_;
  /// Outlives the system: its actors' exits remove them from it.
  light_directory light_actors_;
  std::unique_ptr<caf::actor_system> system_;
  /// Every connection of this process goes through it; it goes before the
  /// system.
  std::unique_ptr<troupe::net::transport> transport_;
  /// Shared so that refs hold it weakly and outlive it harmlessly.
  std::shared_ptr<object_table> table_;
  /// The mapped store segment. Every view handed out shares it, so a view
  /// kept past `shutdown` still points into mapped memory.
  struct store_mapping {
    std::unique_ptr<store::allocator> segment;
    std::unique_ptr<store::object_store> store;
  };
  std::shared_ptr<store_mapping> mapping_;
  node_info node_;
  endpoint address_;
  std::size_t max_direct_peers_ = 0;
  control_store_actor control_store_;
  core_actor core_;
  result_outbox_actor result_outbox_;
  std::mutex queue_mtx_;
  std::vector<task_record> queue_;
  std::mutex forward_mtx_;
  std::unordered_map<object_id, ref_ptr> parked_;
};

/// Installs `c` as the process's client (nullptr to remove it).
void set_client(client* c) noexcept;

} // namespace troupe::detail
