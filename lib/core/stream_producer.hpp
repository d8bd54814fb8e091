#pragma once

// The producer side of streaming generators in a worker process: how far
// each consumer got (its acks, through the process's stream actor), which
// holds a generator back when it is `backpressure` items ahead, and the
// sending of each item as it is yielded.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lib/protocol/messages.hpp"
#include "lib/protocol/stream_actor.hpp"
#include "troupe/codec.hpp"
#include "task.capnp.h"

namespace troupe::detail {

class client;

/// Consumers' progress on the streams this process produces. Thread-safe:
/// the stream actor acks, generators wait.
class stream_credits {
public:
  /// What an ack of a dropped stream says it took: everything.
  static constexpr std::uint64_t dropped_mark = ~std::uint64_t{0};

  void open(const object_id& stream);
  void close(const object_id& stream);

  /// The consumer took `taken` items (`dropped_mark`: it dropped the stream).
  void ack(const object_id& stream, std::uint64_t taken);

  /// Blocks until the consumer took `need` items or dropped the stream, or
  /// `give_up` (asked now and then) says so; returns false unless it took them.
  bool wait(const object_id& stream, std::uint64_t need,
            const std::function<bool()>& give_up);

  /// Returns true if the consumer took `need` items or dropped the stream;
  /// else keeps `wake` and calls it once it has (from the acking thread).
  bool when(const object_id& stream, std::uint64_t need, std::function<void()> wake);

  /// Returns whether the consumer dropped the stream.
  bool dropped(const object_id& stream) const;

private:
  struct state {
    std::uint64_t taken = 0;
    std::uint64_t need = 0;
    std::function<void()> wake;
  };
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::unordered_map<object_id, state> streams_;
};

/// Returns this process's stream credits.
stream_credits& producer_credits();

/// Returns this process's stream actor (spawned on first use).
stream_actor stream_acks(client& c);

/// What a running call needs of its TaskSpec once the batch is gone.
struct call_info {
  std::uint64_t task_id = 0;
  std::string name;
  object_id return_id;              ///< a generator's stream
  std::vector<object_id> extra_ids; ///< a tuple's elements 2..N
  std::uint32_t backpressure = 0;
  core_actor caller; ///< where results and items go
};

/// The refs serialized into a call's result values (`value`, object `id`,
/// and the tuple's others, objects `extra_ids`) go to the caller with them:
/// registers the caller as their borrower (object_table::lend) and names
/// each in `out`, with the object whose value holds it.
void lend_nested(client& c, const core_actor& caller, const object_id& id,
                 const encoded_value& value, const std::vector<object_id>& extra_ids,
                 const std::vector<encoded_value>& extra, schema::TaskResult::Builder out);

/// Waits until this process's registrations as a borrower, and those it
/// made for callers, are acknowledged: a result or reply may then go out,
/// and its receiver may let go of what it lent.
void settle_borrows(client& c);

/// Stores item `index` of the call's stream and sends it to the caller, as
/// the process's stream actor.
void emit_item(client& c, const call_info& call, std::uint64_t index,
               encoded_value& item);

} // namespace troupe::detail
