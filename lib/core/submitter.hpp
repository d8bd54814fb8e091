#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>

#include "lib/protocol/messages.hpp"
#include "lib/protocol/result_codec.hpp"
#include "lib/protocol/status.hpp"
#include "lib/core/call_queue.hpp"
#include "lib/core/insert_only_map.hpp"
#include "lib/core/cancellation.hpp"
#include "lib/core/object_table.hpp"
#include "troupe/task.hpp"

namespace troupe::detail {

/// An argument whose value is known: inline bytes or a place in the store.
struct resolved_arg {
  stored_value value;
};

/// A task from `remote()` until its result arrives.
///
/// Task states in the submitter:
///
///     waiting --(1) last ref argument ready--> queued
///     waiting --(2) a ref argument failed----> failed (same cause)
///     queued ---(3) pushed to a leased worker-> running
///     running --(4) result arrives------------> done
///     running --(5) worker dies---------------> failed (worker_crashed)
///     queued ---(6) lease denied--------------> failed (unschedulable)
///     running --(7) worker or node dies, or a -> queued (attempt + 1)
///                   retried exception, with
///                   retries left
///
/// A result is taken only from the process that runs the task's current
/// attempt: one from an earlier attempt's worker (a zombie, thought dead)
/// is dropped, and its stored value released.
struct task_record {
  std::uint64_t task_id = 0;
  const function_entry* fn = nullptr;
  task_name name;
  object_id return_id;
  resource_map resources;
  std::vector<task_arg> args;          ///< as submitted; refs keep args alive
  /// Filled as refs become ready; empty until the first is (a task queued
  /// behind an unready argument holds no slots).
  std::vector<resolved_arg> resolved;
  std::size_t unresolved = 0;
  std::uint64_t worker_id = 0;         ///< where it runs
  object_id actor_id;          ///< method calls: the actor; creations: the new one
  bool creates_actor = false;  ///< runs a factory on a worker of its own
  bool shared_actor = false;   ///< ... or on a shared actor host (a light actor)
  std::uint32_t max_concurrency = 0; ///< creations (0: the class's default)
  scheduling_strategy strategy;      ///< where it may run
  /// A function returning a tuple of N: the objects of elements 2..N.
  std::vector<object_id> extra_returns;
  /// A generator's most items ahead of its consumer (its stream is
  /// `return_id`, an id of `object_table::open_stream`).
  std::uint32_t backpressure = 0;
  /// Plain tasks: runs after a system failure (-1: without limit), and the
  /// exceptions that also run the task again.
  int max_retries = 0;
  retry_exceptions_policy retry_exceptions;
  std::uint32_t attempt = 1;   ///< the run under way (1: the first)
  /// Why the previous attempt failed (set from the second attempt on;
  /// boxed, since most tasks run once and an error_info is ~100 bytes).
  std::shared_ptr<const error_info> last_failure;
  /// Actor creations: how often the actor may be rebuilt (its record is
  /// kept for that while it lives), and which rebuild this is (0: none).
  std::int32_t max_restarts = 0;
  std::uint32_t restarts = 0;
  /// Cancelled: its objects failed with task_cancelled; it is not run
  /// again, and ends when its worker answers (or dies).
  bool cancelled = false;
  /// The task that submitted it, when a task running here did (a
  /// recursive cancel of that one reaches this one).
  task_key parent;
  /// The job it works for (its driver's): its stored values count there.
  std::uint64_t job = 0;
};

/// The submitter's effects on the world; the core actor sends messages, tests
/// record them.
class submitter_io {
public:
  virtual ~submitter_io() = default;
  virtual void request_lease(lease_request req) = 0;
  virtual void cancel_lease(std::uint64_t request_id) = 0;
  /// Returns a worker to the local scheduler that granted it.
  virtual void return_lease(std::uint64_t worker_id,
                            const local_scheduler_actor& scheduler) = 0;
  virtual void push(const executor_actor& executor, std::vector<char> batch) = 0;
  /// Sends calls of light actors that share a host process to its core.
  virtual void push_to_host(const core_actor& host, light_calls calls) = 0;
  /// Has `submitter::flush_light` called once the messages queued for the
  /// core now are read.
  virtual void schedule_light_flush() = 0;
  virtual void fetch(const object_id& id, const caf::actor& owner) = 0;
  virtual void schedule_tick(std::chrono::milliseconds delay) = 0;
  /// Asks the control store where the actor is (answer: on_actor_status).
  virtual void resolve_actor(const object_id&) {}
  /// Watches an actor's instance (its loss: on_instance_down).
  virtual void monitor_instance(const executor_actor&) {}
  /// An actor's creation task (the `restarts`-th rebuild, 0: the first)
  /// finished on worker `worker_id`.
  virtual void actor_created(const object_id&, std::uint64_t, std::uint32_t,
                             const stored_value*, const error_info*) {}
  /// An actor's first creation goes out: what the head needs to rebuild it
  /// should this process be gone by then.
  virtual void keep_creation(const actor_creation&) {}
  /// Tells the core of the worker running task `task_id` (ours) that it is
  /// cancelled; `recursive`: and the tasks it submitted, `force`: by force.
  virtual void cancel_remote(const core_actor&, std::uint64_t, bool, bool) {}
  /// Kills a leased worker (a forced cancel).
  virtual void kill_worker(std::uint64_t, const local_scheduler_actor&) {}
  /// Gives back `count` light-actor slots of a host lease that no creation
  /// used, `resources` each.
  virtual void release_slots(std::uint64_t, const resource_map&, std::uint32_t,
                             const local_scheduler_actor&) {}
  /// A borrowed object was lost: asks its owner to rebuild it, then fetches
  /// it again (or fails it, saying why the owner cannot).
  virtual void rebuild_borrowed(const object_id&) {}
  /// Tells a stream's producer how many items its consumer took (all of
  /// them: nobody reads the stream). A message to the producer's own stream
  /// actor, which needs no actor of ours: the default sends it.
  virtual void ack_stream(const stream_actor& producer, const object_id& stream,
                          std::uint64_t taken);
  /// Takes the store pin a result's sender handed over with a value
  /// (`stored_value::transit`); false when the object is gone. Without a
  /// store (unit tests) there is nothing to take.
  virtual bool adopt(stored_value&) { return true; }
};

/// Tunables of the submitter.
struct submitter_config {
  /// Most tasks pushed to one worker before earlier ones finish.
  std::uint32_t max_in_flight_per_worker = 256;
  /// Most lease requests outstanding per resource shape.
  std::uint32_t max_pending_leases = 16;
  /// How long an idle lease is kept for the next task of its shape.
  std::chrono::milliseconds lease_idle_timeout{50};
  /// Functions that ran shorter than this on average are pipelined to busy
  /// workers; others (and functions not seen yet) go one per worker, so a
  /// long task never waits behind another on a worker while one is free.
  std::chrono::microseconds pipeline_below{1000};
};

/// Runs on the core actor: resolves arguments, leases workers from the local
/// scheduler, pipelines tasks to them and applies their results.
class submitter {
public:
  using clock = std::chrono::steady_clock;

  submitter(object_table& table, submitter_io& io, std::string exe,
            core_actor self, submitter_config cfg = {});

  /// Accepts a task from `remote()`; its value arguments own their bytes
  /// (`client::submit` calls `encoded_value::own`).
  void submit(task_record task);

  /// An object this process waits for changed state (result or fetch reply).
  void on_object_changed(const object_id& id);

  void on_granted(const lease_grant& grant);
  void on_denied(std::uint64_t request_id, const std::string& why);
  /// Applies a `ResultBatch` from `sender`; throws `error` (protocol) if it
  /// is malformed. Streamed items come from their producer's stream actor.
  void on_results(const std::vector<char>& batch,
                  const caf::strong_actor_ptr& sender = nullptr);
  void on_worker_died(std::uint64_t worker_id, const std::string& reason,
                      error_kind kind = error_kind::worker_crashed);
  /// Returns idle leases that timed out.
  void on_tick();
  /// Fails everything: the node is gone.
  void on_node_down(const error_info& why);
  /// Another node of the cluster died: its workers' tasks fail with `why`.
  void on_peer_node_down(std::uint64_t node_id, const std::string& why);

  /// The control store told where an actor is, or why it is gone.
  void on_actor_status(const actor_status& status);
  /// A monitored actor instance went down; returns whether it was one.
  bool on_instance_down(const caf::actor_addr& instance);
  /// Cancels the task or actor call whose result is `ref` (troupe::cancel).
  /// Returns why it cannot be (empty: done, or nothing to cancel).
  std::string cancel(const object_id& ref, bool force, bool recursive);
  /// The task `parent` (running in this worker) was cancelled with
  /// `recursive`: so are the tasks it submitted.
  void cancel_children(const task_key& parent, bool force);

  /// The only copy of object `id` (ours, in a store) is lost: runs the task
  /// that made it again (lineage reconstruction), within its max_retries.
  /// Returns why it cannot be rebuilt (empty: it is being rebuilt).
  std::string rebuild(const object_id& id);

  /// Returns how many objects keep the task that made them (lineage).
  std::size_t lineage_size() const noexcept { return lineage_.size(); }

  /// An actor this process created died and is to be rebuilt: its creation
  /// runs again (rebuild number `restarts + 1`).
  void on_restart(const object_id& id, std::uint32_t restarts);

  /// Sends the tasks buffered for each worker; call at the end of a handler.
  /// Light actors' calls wait for `flush_light` (asked of the io once).
  void flush();
  /// Sends the light actors' calls held back, one message per host: those
  /// made while the core read the messages before it go together.
  void flush_light();

  /// Returns a one-line summary for status output.
  std::string describe() const;

  /// Returns the tasks not done yet (at most `limit`): id, name, state
  /// (waiting for arguments, queued, running) and node.
  std::vector<task_row> task_rows(std::size_t limit) const;

  /// Returns the number of tasks not yet done.
  std::size_t active_tasks() const noexcept { return tasks_.size(); }

private:
  struct lease {
    std::uint64_t worker_id = 0;
    executor_actor executor;
    core_actor core; ///< the worker's core (cancels go there)
    local_scheduler_actor scheduler; ///< where it goes back
    std::uint64_t node_id = 0;
    std::string key;
    std::uint32_t in_flight = 0;
    std::uint32_t slots = 1; ///< a host lease: light actors it may create
    clock::time_point idle_since;
    std::vector<std::uint64_t> outbox;
  };

  /// Average run time of one function, from the workers' reports.
  struct function_stats {
    double avg_exec_us = 0;
    std::uint64_t runs = 0;
  };

  /// Method calls of one actor, sent in the order they were made.
  struct actor_calls {
    enum class phase { unresolved, resolving, alive, dead };
    phase st = phase::unresolved;
    executor_actor instance;  ///< where the calls sent so far went
    /// `instance.id()`, kept: reading it from the handle touches the
    /// proxy's control block, a cache miss per actor on flush_light's path.
    std::uint64_t instance_id = 0;
    /// Why it died (once dead): boxed, as most actors never die.
    std::shared_ptr<const error_info> death;
    call_queue queued;
    std::vector<std::uint64_t> outbox;
    std::int32_t max_task_retries = 0; ///< as the control store tells
    core_actor worker_core; ///< the instance's process (cancels go there)
    bool shared = false;    ///< a light actor: calls go through worker_core
  };

  struct shape {
    bool dedicated = false; ///< leases for actors: one creation each
    bool host = false;      ///< ... or, light actors, `slots` on one host
    resource_map resources;
    scheduling_strategy strategy;
    std::uint64_t locality_node = 0;
    std::deque<std::uint64_t> queued;
    std::vector<std::uint64_t> leases; // worker ids
    std::map<std::uint64_t, std::string> pending_requests; // id -> task name
    std::uint32_t in_flight = 0;
  };

  void resolve(task_record& t);
  /// Resolves what it can of the task's arguments; true when all are ready
  /// (false also when the task failed, which erased it).
  bool resolve_args(task_record& t);
  /// Argument `i`'s slot in `t.resolved`, which is made on first use.
  static stored_value& resolved_slot(task_record& t, std::size_t i);
  /// Returns the key of the task's shape: resources, strategy and
  /// `locality` (the node `locality_of` names).
  static std::string key_of(const task_record& t, std::uint64_t locality);
  /// Returns the node holding most of the task's stored argument bytes.
  static std::uint64_t locality_of(const task_record& t);
  void enqueue(std::uint64_t task_id);
  void pump(const std::string& key);
  /// `pump` of light-actor creations: onto the slots granted, and one lease
  /// request at a time for as many as wait.
  void pump_light(const std::string& key);
  /// Takes over idle leases of other shapes that fit this one.
  void adopt_idle_leases(const std::string& key);
  /// Returns whether a task of shape `s` may run on the lease's worker.
  bool serves(const shape& s, const lease& l) const;
  /// Ends a task: its objects get `value` (and a tuple's `extra` values)
  /// or fail with `error`.
  void finish(std::uint64_t task_id, const stored_value* value,
              const error_info* error, const std::vector<stored_value>* extra = nullptr);
  /// `finish` of the task at `it` (a result found it already).
  void finish_at(std::unordered_map<std::uint64_t, task_record>::iterator it,
                 const stored_value* value, const error_info* error,
                 const std::vector<stored_value>* extra);
  void finish_objects(const task_record& t, const stored_value* value,
                      const error_info* error, const std::vector<stored_value>* extra);
  /// Returns whether tasks of `fn` may queue behind others on a worker.
  bool pipelinable(const function_entry* fn) const;
  void fail_task(std::uint64_t task_id, const error_info& error);
  void cancel_task(std::uint64_t task_id, bool force, bool recursive);
  /// Runs the task again after `why` if its retries allow; returns whether.
  bool retry(std::uint64_t task_id, const error_info& why);
  /// Gives back the task's place on its lease; returns the lease's shape
  /// key (empty when it had none).
  std::string leave_lease(task_record& t);
  /// Returns whether a result from `sender` answers the task's current
  /// attempt (a null sender, from tests, always does).
  bool from_current_attempt(const task_record& t, const caf::strong_actor_ptr& sender) const;
  void release_lease(std::uint64_t worker_id);
  void pump_actor(const object_id& id);
  void pump_actor(actor_calls& a);
  /// Puts a ready call in its actor's outbox (the actor is listed for flush).
  void to_outbox(actor_calls& a, std::uint64_t task_id);
  std::vector<char> encode_batch(const std::vector<std::uint64_t>& ids);
  /// Hands the head an actor's first creation, when it may restart and its
  /// arguments are all inline (a stored one would go with this process).
  void offer_creation(std::uint64_t task_id, const shape& s);
  void fail_actor_calls(const object_id& id, const error_info& why);
  /// The instance the actor's sent calls went to is gone (`why`): each is
  /// sent again to the next instance while its retries last, else fails.
  void lose_sent_calls(const object_id& id, const error_info& why);

  object_table& table_;
  submitter_io& io_;
  std::string exe_;
  core_actor self_;
  submitter_config cfg_;
  std::uint64_t next_request_ = 1;
  std::unordered_map<std::uint64_t, task_record> tasks_;
  std::unordered_map<object_id, std::vector<std::uint64_t>> dependents_;
  std::map<std::string, shape> shapes_;
  std::unordered_map<const function_entry*, function_stats> stats_;
  insert_only_map<object_id, actor_calls> actors_;
  /// The tasks that made our stored objects, while the objects are known:
  /// what rebuilds them when their only copy is lost.
  std::unordered_map<object_id, std::shared_ptr<const task_record>> lineage_;
  std::size_t prune_lineage_at_ = 1024;
  /// Nodes known dead: their stores' objects are lost.
  std::set<std::uint64_t> dead_nodes_;
  /// Keeps the lineage of a finished task whose results went to a store.
  void keep_lineage(const task_record& t, const stored_value* value,
                    const std::vector<stored_value>* extra);
  /// A task failed as an argument of it was lost (`named` by the worker, or
  /// on a node known dead): rebuilds those (ours here, borrowed ones by
  /// their owners) and lets the task wait for them. Returns whether.
  bool rebuild_lost_args(std::uint64_t task_id, const object_id& named);
  /// Creations of living actors that may be rebuilt, as submitted.
  std::unordered_map<object_id, task_record> creations_;
  /// Ids of rebuilds: apart from the client's (which count up from 1).
  std::uint64_t next_rebuild_task_ = std::uint64_t{1} << 62;
  /// Actors with calls in their outbox. Entries of `actors_` are never
  /// erased (a dead actor's says why it died), so their addresses hold.
  std::vector<actor_calls*> dirty_actors_;
  std::vector<actor_calls*> dirty_light_; ///< light actors with calls held back
  /// The batch on_results reads, kept for its capacity (result_codec.hpp).
  std::vector<parsed_result> parsed_;
  bool light_flush_asked_ = false;
  std::unordered_map<std::uint64_t, lease> leases_;
  /// A creation pushed to its worker and not answered yet: no lease of
  /// ours any more, and not the control store's actor worker until it is
  /// up, so its worker's death (or its node's) is ours to handle.
  struct building {
    std::uint64_t task_id = 0;
    std::uint64_t node_id = 0;
  };
  /// By worker id: one on a process actor's worker, many on an actor host.
  std::unordered_map<std::uint64_t, std::vector<building>> building_;
  /// Fails the creation building on `worker_id` (its worker died: `why`).
  void lose_building(std::uint64_t worker_id, const std::string& why, error_kind kind);
  std::vector<std::uint64_t> dirty_leases_;
  bool tick_scheduled_ = false;
  /// Set once the node is gone: every later task fails with this at once.
  std::optional<error_info> node_down_;
};

/// Returns `map.at(key)`, naming `where` and the key when it is missing (a
/// broken invariant of the submitter's bookkeeping).
template <class Map, class Key>
auto& at_or_throw(Map& map, const Key& key, const char* where) {
  auto it = map.find(key);
  if (it == map.end())
    throw std::out_of_range(std::string{"submitter: no entry "} + std::to_string(key) + " at "
                            + where);
  return it->second;
}

/// Returns the canonical text of a resource request, e.g. `CPU=1,GPU=0.5,`.
std::string shape_key(const resource_map& resources);

} // namespace troupe::detail
