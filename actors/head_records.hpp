#pragma once

// The head's metadata in its state store: the records a restarted head loads
// to take its cluster back (schema: lib/protocol/head_state.capnp).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/head_codec.hpp"
#include "actors/state_store.hpp"
#include "scheduler/group_keeper.hpp"

namespace troupe {

/// What a head persisted. Handles are null: the processes and nodes they
/// named register again when they reconnect.
struct head_snapshot {
  std::vector<node_info> nodes;
  std::vector<job_record> jobs;
  std::vector<actor_entry> actors;
  std::uint64_t next_job = 1;
};

/// The head's writes: records queued as its state changes (the last write
/// of a key wins) and written in one atomic, durable batch by `flush`, which
/// the head calls before any reply that depends on them and soon after any
/// other change. The control store and the cluster scheduler (placement
/// groups) both write through it, from their own threads: each call holds
/// a mutex, and a flush writes whatever either queued.
class head_records {
public:
  explicit head_records(std::unique_ptr<state_store> store);

  void node(const node_info& n);
  void job(const job_record& j);
  void actor(const actor_entry& e);
  void counters(std::uint64_t next_job);
  void group(const group_spec& spec, const group_state& state);
  void erase_group(std::uint64_t id);
  void group_counter(std::uint64_t next_group);

  /// Whether writes wait for `flush`.
  bool pending() const {
    std::lock_guard guard{mutex_};
    return !batch_.empty();
  }

  /// Writes what is queued. Throws state_store_error; the writes stay
  /// queued, for the next try.
  void flush();

  /// Reads every record. Throws state_store_error, or troupe::error
  /// (protocol) for a record that is not one.
  head_snapshot load();

  /// Reads the placement groups (for the cluster scheduler).
  sched::group_keeper::restored load_groups();

  /// Where the records are, e.g. "sqlite /dir/state.db".
  std::string describe() const { return store_->describe(); }

private:
  mutable std::mutex mutex_;
  std::unique_ptr<state_store> store_;
  /// (table, key) -> the value to write, or nothing to erase the key.
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> batch_;
};

/// The cluster scheduler's placement groups, kept in `records` (flushed at
/// each change: a group's id is durable before its creator hears it).
/// `head_node` is the head's own node id, never waited for after a restart.
std::shared_ptr<sched::group_keeper> make_group_keeper(std::shared_ptr<head_records> records,
                                                       std::uint64_t head_node);

} // namespace troupe
