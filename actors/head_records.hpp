#pragma once

// The head's metadata in its state store: the records a restarted head loads
// to take its cluster back (schema: lib/protocol/head_state.capnp).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/actor_directory.hpp"
#include "actors/node_directory.hpp"
#include "actors/state_store.hpp"

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
/// other change.
class head_records {
public:
  explicit head_records(std::unique_ptr<state_store> store);

  void node(const node_info& n);
  void job(const job_record& j);
  void actor(const actor_entry& e);
  void counters(std::uint64_t next_job);

  /// Whether writes wait for `flush`.
  bool pending() const noexcept { return !batch_.empty(); }

  /// Writes what is queued. Throws state_store_error; the writes stay
  /// queued, for the next try.
  void flush();

  /// Reads every record. Throws state_store_error, or troupe::error
  /// (protocol) for a record that is not one.
  head_snapshot load();

  /// Where the records are, e.g. "sqlite /dir/state.db".
  std::string describe() const { return store_->describe(); }

private:
  std::unique_ptr<state_store> store_;
  std::map<std::pair<std::string, std::string>, std::string> batch_; ///< (table, key)
};

// The encodings, for tests.
std::string encode_node(const node_info& n);
node_info decode_node(const std::string& bytes);
std::string encode_job(const job_record& j);
job_record decode_job(const std::string& bytes);
std::string encode_actor(const actor_entry& e);
actor_entry decode_actor(const std::string& bytes);

} // namespace troupe
