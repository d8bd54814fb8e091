#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace troupe {

/// What went wrong, as carried between processes. Every troupe exception has
/// one kind; `get` on a failed object rethrows the exception of its kind.
enum class error_kind : std::uint8_t {
  task_failed = 1,      ///< the task's function threw
  worker_crashed,       ///< the worker process died while running the task
  unknown_function,     ///< no function is registered under the name
  argument_type,        ///< arguments do not match the function's parameters
  object_store_full,    ///< the value does not fit into the node's store
  timeout,              ///< `get` waited longer than asked
  unschedulable,        ///< no node can ever provide the requested resources
  owner_died,           ///< the process that owns the object is gone
  node_died,            ///< the node daemon is gone
  protocol,             ///< a malformed message arrived from another process
  object_lost,          ///< the object's value is no longer available
  runtime,              ///< troupe is not initialised, or was shut down
  actor_died,           ///< the actor is gone (killed, crashed, ctor threw)
  no_such_actor,        ///< no actor has that name
  name_taken,           ///< another actor has that name already
  task_cancelled,       ///< `troupe::cancel` stopped the task or call
  head_unavailable,     ///< the cluster's head is gone and did not come back in time
  job_store_limit,      ///< the job holds its limit of a node's store memory
};

/// Returns the kind's name, e.g. `"task_failed"`.
const char* to_string(error_kind kind) noexcept;

namespace detail {
/// What the reason of a lost call to a restarting actor says (after why its
/// instance died), followed by its restart count.
inline constexpr const char* restarting_marker = "; restarting it (restart ";
} // namespace detail

/// Base of all troupe exceptions.
class error : public std::runtime_error {
public:
  error(error_kind kind, const std::string& what)
    : std::runtime_error(what), kind_(kind) {
  }

  /// Returns what went wrong.
  [[nodiscard]] error_kind kind() const noexcept { return kind_; }

private:
  error_kind kind_;
};

/// A task's function threw. Tasks that depend on its result fail with the
/// same cause, so `get` on any of them names the task that threw.
class task_error : public error {
public:
  task_error(std::string task_name, std::string exception_type,
             std::string message);

  /// Returns the name of the task that threw (its function or `name` option).
  [[nodiscard]] const std::string& task_name() const noexcept { return task_; }

  /// Returns the demangled type of the exception, e.g. `std::out_of_range`.
  [[nodiscard]] const std::string& exception_type() const noexcept {
    return type_;
  }

  /// Returns the exception's `what()`.
  [[nodiscard]] const std::string& message() const noexcept { return msg_; }

private:
  std::string task_;
  std::string type_;
  std::string msg_;
};

/// The worker process running the task died (abort, segfault, SIGKILL).
class worker_crashed_error : public error {
public:
  worker_crashed_error(std::string task_name, std::string reason);

  /// Returns the name of the task that was running.
  [[nodiscard]] const std::string& task_name() const noexcept { return task_; }

  /// Returns how the worker died, e.g. `killed by signal 11 (SIGSEGV)`.
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

private:
  std::string task_;
  std::string reason_;
};

/// The actor a method was called on is gone: killed, its constructor threw,
/// its worker crashed, or it ended itself.
class actor_died_error : public error {
public:
  actor_died_error(std::string actor_name, std::string reason);

  /// Returns the actor's name (its `name` option, or its class).
  [[nodiscard]] const std::string& actor_name() const noexcept { return actor_; }

  /// Returns why it died, e.g. `killed by troupe::kill`.
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

  /// Returns whether the actor is being rebuilt (`max_restarts`): the call
  /// was lost with its old instance, but the handle still works, and later
  /// calls go to the new instance.
  [[nodiscard]] bool restarting() const noexcept;

private:
  std::string actor_;
  std::string reason_;
};

/// The task (or actor method call) was cancelled with `troupe::cancel`
/// before it finished: its result will never come.
class task_cancelled_error : public error {
public:
  explicit task_cancelled_error(std::string task_name);

  /// Returns the name of the task that was cancelled.
  [[nodiscard]] const std::string& task_name() const noexcept { return task_; }

private:
  std::string task_;
};

/// A value (or task result) does not fit into the node's object store.
class object_store_full : public error {
public:
  object_store_full(std::size_t requested, std::size_t capacity,
                    std::size_t available);
  explicit object_store_full(const std::string& what)
    : error(error_kind::object_store_full, what) {
  }
};

/// The value would take the job past the memory it may hold in a node's
/// object store (the node's `--max-job-store-bytes`): the message names the
/// job, what it holds, what was asked and the limit. Freeing the job's refs
/// (or raising the limit) makes room; the store itself may have room left.
class job_store_limit_error : public error {
public:
  explicit job_store_limit_error(const std::string& what)
    : error(error_kind::job_store_limit, what) {
  }
};

/// `get` waited longer than its timeout. The object is unaffected: a later
/// `get` can still return it.
class timeout_error : public error {
public:
  explicit timeout_error(const std::string& what)
    : error(error_kind::timeout, what) {
  }
};

/// The task asks for resources that no node of the cluster has.
class unschedulable_error : public error {
public:
  explicit unschedulable_error(const std::string& what)
    : error(error_kind::unschedulable, what) {
  }
};

/// No function of that name is registered in this program.
class unknown_function_error : public error {
public:
  explicit unknown_function_error(const std::string& what)
    : error(error_kind::unknown_function, what) {
  }
};

/// The arguments do not match the registered function's parameters.
class argument_type_error : public error {
public:
  explicit argument_type_error(const std::string& what)
    : error(error_kind::argument_type, what) {
  }
};

} // namespace troupe
