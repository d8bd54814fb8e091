#include "actors/control_store.hpp"

#include <sstream>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "scheduler/local_scheduler.hpp"
#include "store/store_manager.hpp"

namespace troupe {

std::uint64_t control_store_state::add_job(const job_spec& spec) {
  auto id = next_job++;
  jobs[id] = {id, spec.pid, spec.exe, spec.embedded, true};
  return id;
}

bool control_store_state::job_ended(std::uint64_t job_id) {
  auto it = jobs.find(job_id);
  if (it == jobs.end() || !it->second.alive)
    return false;
  it->second.alive = false;
  return it->second.embedded;
}

std::string control_store_state::describe_json() const {
  std::ostringstream out;
  out << "{\"node\":{\"id\":" << node.node_id << ",\"address\":\"" << node.host << ':'
      << node.port << "\",\"alive\":true},\"jobs\":[";
  bool first = true;
  for (auto& [id, j] : jobs) {
    out << (first ? "" : ",") << "{\"id\":" << id << ",\"pid\":" << j.pid
        << ",\"alive\":" << (j.alive ? "true" : "false") << '}';
    first = false;
  }
  out << "]}";
  return out.str();
}

namespace {

struct cs_actor_state {
  control_store_state st;
  std::map<caf::actor_addr, std::uint64_t> job_of_core;
  static inline const char* name = "troupe.control_store";
};

using cs_ptr = control_store_actor::stateful_pointer<cs_actor_state>;

/// Stops the node's other actors, then the control store itself.
void stop_node(cs_ptr self) {
  auto& node = self->state.st.node;
  auto sched = caf::actor_cast<sched::local_scheduler_actor>(node.scheduler);
  auto store = caf::actor_cast<store::store_manager_actor>(node.store_manager);
  self->request(sched, std::chrono::seconds(5), stop_atom::value)
    .then([=](bool) {
      self->request(store, std::chrono::seconds(5), stop_atom::value)
        .then([=](bool) { self->quit(); }, [=](caf::error&) { self->quit(); });
    },
    [=](caf::error&) { self->quit(); });
}

control_store_actor::behavior_type cs_fn(cs_ptr self, node_info node) {
  self->state.st.node = std::move(node);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto it = self->state.job_of_core.find(dm.source);
    if (it == self->state.job_of_core.end())
      return;
    auto job = it->second;
    self->state.job_of_core.erase(it);
    auto& node = self->state.st.node;
    auto& rec = self->state.st.jobs[job];
    self->send(caf::actor_cast<sched::local_scheduler_actor>(node.scheduler),
               job_end_atom::value, rec.exe);
    if (self->state.st.job_ended(job)) {
      spdlog::info("the embedded driver is gone: stopping the node");
      stop_node(self);
    }
  });
  return {
    [self](node_atom, std::uint16_t port) { self->state.st.node.port = port; },
    [self](node_atom) -> node_info { return self->state.st.node; },
    [self](hello_atom, const job_spec& spec) -> hello_reply {
      auto& s = self->state;
      auto id = s.st.add_job(spec);
      if (spec.core) {
        self->monitor(spec.core);
        s.job_of_core[spec.core.address()] = id;
      }
      self->send(caf::actor_cast<sched::local_scheduler_actor>(s.st.node.scheduler),
                 hello_atom::value, spec.exe);
      return {id, s.st.node};
    },
    [self](status_atom) -> std::string { return self->state.st.describe_json(); },
    [self](stop_atom) -> bool {
      stop_node(self);
      return true;
    },
  };
}

} // namespace

control_store_actor spawn_control_store(caf::actor_system& sys, node_info node) {
  return sys.spawn(cs_fn, std::move(node));
}

} // namespace troupe
