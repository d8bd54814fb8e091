// The detail functions behind `remote()` of tasks and behind streams
// (troupe/task.hpp, troupe/stream.hpp).

#include "lib/core/call_api.hpp"

#include <caf/all.hpp>

#include "lib/core/client.hpp"

namespace troupe::detail {

submission submit_call(const function_entry& fn, std::vector<task_arg>&& args,
                       task_name name, placement where,
                       std::uint32_t backpressure,
                       const std::function<void(task_record&)>& more) {
  auto& c = client::get();
  submission out;
  // Every object of the call exists before the call is queued, so that its
  // results always find them.
  auto ref = c.submit(fn, std::move(args), std::move(name), std::move(where), [&](task_record& t) {
    if (more)
      more(t);
    for (std::uint32_t i = 1; i < fn.num_returns; ++i) {
      auto id = c.next_object_id();
      t.extra_returns.push_back(id);
      out.extra.push_back(c.table().create_owned(id, t.name));
    }
    if (fn.streams) {
      t.return_id = c.table().open_stream(backpressure);
      t.backpressure = backpressure;
    }
  });
  if (fn.streams)
    out.stream = std::make_shared<stream_handle>(std::move(ref));
  else
    out.ref = std::move(ref);
  return out;
}

submission submit_task(const function_entry& fn, std::vector<task_arg>&& args,
                       const task_options& options) {
  auto name = options.name.empty() ? task_name{} : shared_name(options.name);
  return submit_call(fn, std::move(args), std::move(name), placement_of(options),
                     options.generator_backpressure, [&](task_record& t) {
                       // A generator's items reached its consumer already.
                       if (fn.streams)
                         return;
                       t.max_retries = options.max_retries;
                       t.retry_exceptions = options.retry_exceptions;
                     });
}

ref_ptr stream_next(stream_handle& s, deadline until) {
  auto& c = client::get();
  auto id = s.id();
  // A task waiting for its stream lends its CPU, as one waiting in `get`.
  bool blocked = false;
  auto on_block = [&] {
    if (c.role() == process_role::worker && c.in_task) {
      blocked = true;
      caf::anon_send(c.node().scheduler, blocked_atom::value, c.worker_id);
    }
  };
  auto unblock = [&] {
    if (blocked)
      caf::anon_send(c.node().scheduler, unblocked_atom::value, c.worker_id);
  };
  auto ack = [&](const stream_actor& producer, std::uint64_t taken) {
    caf::anon_send(producer, ack_atom::value, id, taken);
  };
  try {
    auto item = c.table().next_item(id, until, ack, on_block);
    unblock();
    return item;
  } catch (...) {
    unblock();
    throw;
  }
}

object_id stream_id(const stream_handle& s) noexcept {
  return s.id();
}

} // namespace troupe::detail
