#pragma once

// Running one task of a TaskBatch in a worker: reading its arguments,
// calling its function, method or factory, and writing its result or why it
// has none. Shared by the executors of tasks and plain actors (executor.cpp)
// and the host of async actors (coroutine_host.cpp).

#include <memory>
#include <string>
#include <vector>

#include "lib/core/stream_producer.hpp"
#include "lib/protocol/capnp_codec.hpp"
#include "troupe/detail/registry.hpp"

namespace troupe::detail {

class client;

/// Returns what a call needs of its TaskSpec after the batch is gone.
call_info info_of(schema::TaskSpec::Reader spec, const core_actor& caller);

/// Looks up the task's function and reads its arguments into `args`;
/// returns the function, or nullptr after writing into `out` why the task
/// cannot run.
const function_entry* prepare_task(client& c, void* instance,
                                   schema::TaskSpec::Reader spec,
                                   const std::shared_ptr<const std::vector<char>>& batch,
                                   std::vector<raw_value>& args,
                                   schema::TaskResult::Builder out,
                                   const std::string& name);

/// Calls the task's function, method or factory with `args` into `result`;
/// returns false after writing into `out` how the call failed. A returned
/// coroutine has not run yet: it is in `result.coroutine`.
bool invoke_task(client& c, const function_entry& fn, void* instance,
                 schema::TaskSpec::Reader spec, std::vector<raw_value>& args,
                 call_output& result, schema::TaskResult::Builder out,
                 const std::string& name);

/// Writes the exception being handled (call it in a `catch`) into `out` as
/// the failure of the task named `name`.
void write_current_error(schema::TaskResult::Builder out, const std::string& name);

/// Writes the result of a call that finished into `out`: its values stored
/// under the call's return ids or, for an async method that returned a ref,
/// task id 0 while the core actor sends the result once the ref has a value.
void write_result(client& c, const call_info& call, call_output& result,
                  schema::TaskResult::Builder out);

/// Runs the coroutine a call returned to its end on this thread (tasks and
/// plain actors): its `co_await`s wait as `get` does, a generator's items go
/// to the caller as they are yielded, held back by backpressure. Leaves the
/// result in `result`; returns false after writing into `out` how it failed.
bool run_coroutine(client& c, const call_info& call, call_output& result,
                   schema::TaskResult::Builder out);

/// When the task of `spec` from `caller` was cancelled before it started,
/// writes so into `out` and returns true: it is not run.
bool skip_cancelled(schema::TaskSpec::Reader spec, schema::TaskResult::Builder out,
                    const core_actor& caller);

/// Runs one task to its end and writes its result (or why it has none) into
/// `out`. An async method's result is sent later by the core actor: `out`
/// then carries task id 0, which no submitter uses.
void run_task(client& c, void* instance, schema::TaskSpec::Reader spec,
              const std::shared_ptr<const std::vector<char>>& batch,
              schema::TaskResult::Builder out, const core_actor& caller);

/// Returns whether a method on this thread called `troupe::exit_actor()`.
bool exit_requested() noexcept;
/// Forgets the request (a light actor ended; its host goes on).
void clear_exit_request() noexcept;

/// Ends the worker soon: its last results leave first, then the node reports
/// the clean exit and the actor's callers learn why it is gone.
void end_worker_soon();

} // namespace troupe::detail
