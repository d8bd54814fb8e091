#include "actors/actor_rebuilder.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "lib/protocol/capnp_codec.hpp"
#include "lib/protocol/handles.hpp"

namespace troupe {

lease_request rebuild_state::start(const object_id& id, std::uint32_t restarts,
                                   actor_creation c, const core_actor& requester) {
  auto rid = next_request_++;
  lease_request req{rid, c.exe, c.resources, "rebuild of actor " + id.to_string(), requester,
                    true};
  req.strategy = c.strategy;
  asked_[rid] = {id, restarts, std::move(c), 0};
  return req;
}

std::optional<std::vector<char>> rebuild_state::granted(const lease_grant& g) {
  auto it = asked_.find(g.request_id);
  if (it == asked_.end())
    return std::nullopt;
  auto b = std::move(it->second);
  asked_.erase(it);
  detail::message_reader reader{b.creation.spec};
  auto tasks = reader.root<schema::TaskBatch>().getTasks();
  if (tasks.size() != 1)
    detail::message_reader::throw_malformed("a kept creation is not one task");
  capnp::MallocMessageBuilder builder;
  auto list = builder.initRoot<schema::TaskBatch>().initTasks(1);
  list.setWithCaveats(0, tasks[0]);
  auto tid = next_task_++;
  list[0].setTaskId(tid);
  list[0].setRestarts(b.restarts + 1);
  b.worker_id = g.worker_id;
  running_[tid] = std::move(b);
  return detail::to_bytes(builder);
}

std::optional<rebuild_state::outcome> rebuild_state::denied(std::uint64_t request_id,
                                                            const std::string& why) {
  auto it = asked_.find(request_id);
  if (it == asked_.end())
    return std::nullopt;
  outcome out{it->second.id, 0, it->second.restarts + 1,
              error_info{error_kind::unschedulable, it->second.id.to_string(), "",
                         "the head could not place it again: " + why}};
  asked_.erase(it);
  return out;
}

std::optional<rebuild_state::outcome> rebuild_state::worker_died(std::uint64_t worker_id,
                                                                 const std::string& why) {
  for (auto it = running_.begin(); it != running_.end(); ++it) {
    if (it->second.worker_id != worker_id)
      continue;
    outcome out{it->second.id, worker_id, it->second.restarts + 1,
                error_info{error_kind::worker_crashed, it->second.id.to_string(), "",
                           "its worker died while the head rebuilt it: " + why}};
    running_.erase(it);
    return out;
  }
  return std::nullopt;
}

std::vector<rebuild_state::outcome> rebuild_state::done(const std::vector<char>& bytes) {
  std::vector<outcome> out;
  detail::message_reader reader{bytes};
  for (auto r : reader.root<schema::ResultBatch>().getResults()) {
    auto it = running_.find(r.getTaskId());
    if (it == running_.end() || r.getItemIndex() != 0)
      continue;
    auto& b = it->second;
    outcome o{b.id, b.worker_id, b.restarts + 1, std::nullopt};
    if (r.isError())
      o.error = detail::read_error(r.getError());
    out.push_back(std::move(o));
    running_.erase(it);
  }
  return out;
}

namespace {

struct rebuilder_state {
  rebuild_state st;
  control_store_actor control;
  local_scheduler_actor scheduler;
  static inline const char* name = "troupe.actor_rebuilder";
};

using rebuilder_ptr = actor_rebuilder_actor::stateful_pointer<rebuilder_state>;

void tell(rebuilder_ptr self, const rebuild_state::outcome& o) {
  if (o.error) {
    spdlog::warn("the head could not rebuild actor {}: {}", o.id.to_string(),
                 o.error->message);
    self->send(self->state.control, actor_fail_atom::value, o.id, *o.error, o.restarts);
  } else {
    spdlog::info("the head rebuilt actor {} on worker {}", o.id.to_string(), o.worker_id);
    self->send(self->state.control, built_atom::value, o.id, o.worker_id, o.restarts);
  }
}

actor_rebuilder_actor::behavior_type rebuilder_fn(rebuilder_ptr self, control_store_actor control,
                                                  local_scheduler_actor scheduler) {
  self->state.control = std::move(control);
  self->state.scheduler = std::move(scheduler);
  // Workers and schedulers also send a creator what it does not need here
  // (borrows of refs in results, ...): dropped.
  self->set_default_handler(caf::drop);
  return {
    [self](restart_atom, const object_id& id, std::uint32_t restarts, actor_creation& c) {
      spdlog::info("the head rebuilds actor {} (its creator is gone)", id.to_string());
      // Schedulers and workers answer a requester as a creator's core actor.
      auto me = handle_cast<core_actor>(actor_rebuilder_actor{self});
      self->send(self->state.scheduler, lease_atom::value,
                 self->state.st.start(id, restarts, std::move(c), me));
    },
    [self](granted_atom, const lease_grant& g) {
      try {
        if (auto batch = self->state.st.granted(g))
          self->send(g.executor, push_atom::value, std::move(*batch));
      } catch (const std::exception& e) {
        spdlog::error("a kept actor creation is unusable: {}", e.what());
      }
    },
    [self](denied_atom, std::uint64_t request_id, const std::string& why) {
      if (auto o = self->state.st.denied(request_id, why))
        tell(self, *o);
    },
    [self](worker_died_atom, std::uint64_t worker_id, const std::string& why) {
      if (auto o = self->state.st.worker_died(worker_id, why))
        tell(self, *o);
    },
    [self](done_atom, const std::vector<char>& bytes) {
      try {
        for (auto& o : self->state.st.done(bytes))
          tell(self, o);
      } catch (const std::exception& e) {
        spdlog::error("a worker's answer to a rebuild is malformed: {}", e.what());
      }
    },
  };
}

} // namespace

actor_rebuilder_actor spawn_actor_rebuilder(caf::actor_system& sys,
                                            const control_store_actor& control,
                                            const local_scheduler_actor& scheduler) {
  return sys.spawn(rebuilder_fn, control, scheduler);
}

} // namespace troupe
