#include "scheduler/local_scheduler.hpp"

#include <signal.h>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/control_store.hpp"
#include "lib/src/core_actor.hpp"
#include "lib/src/process.hpp"
#include "scheduler/scheduler_state.hpp"

namespace troupe::sched {

namespace {


struct actor_state {
  scheduler_config cfg;
  std::string host;
  std::uint16_t port = 0;
  caf::actor control;
  std::unique_ptr<scheduler_io> io;
  std::unique_ptr<scheduler_state> st;
  static inline const char* name = "troupe.local_scheduler";
};

using self_ptr = local_scheduler_actor::stateful_pointer<actor_state>;

class actor_io final : public scheduler_io {
public:
  explicit actor_io(self_ptr self) : self_(self) {}

  int start_worker(const std::string& exe, std::uint64_t worker_id) override;
  void grant(const caf::actor& requester, const lease_grant& g) override {
    self_->monitor(requester);
    self_->send(caf::actor_cast<detail::core_actor>(requester), granted_atom::value, g);
  }
  void deny(const caf::actor& requester, std::uint64_t request_id,
            const std::string& why) override {
    self_->send(caf::actor_cast<detail::core_actor>(requester), denied_atom::value,
                request_id, why);
  }
  void worker_died(const caf::actor& holder, std::uint64_t worker_id,
                   const std::string& why) override {
    self_->send(caf::actor_cast<detail::core_actor>(holder), worker_died_atom::value,
                worker_id, why);
  }
  void kill_worker(int pid) override {
    ::kill(pid, SIGKILL);
  }
  void dedicated_worker_exited(std::uint64_t worker_id, const std::string& why) override {
    if (auto& cs = self_->state.control)
      self_->send(caf::actor_cast<control_store_actor>(cs), worker_exit_atom::value,
                  worker_id, why);
  }

private:
  self_ptr self_;
};

int actor_io::start_worker(const std::string& exe, std::uint64_t worker_id) {
  auto& s = self_->state;
  auto pid = detail::spawn_process(
    exe, {"--troupe-worker"},
    {"TROUPE_ROLE=worker", "TROUPE_NODE=" + s.host + ":" + std::to_string(s.port),
     "TROUPE_WORKER_ID=" + std::to_string(worker_id)});
  spdlog::info("started worker {} (pid {}) running {}", worker_id, pid, exe);
  return pid;
}

local_scheduler_actor::behavior_type scheduler_fn(self_ptr self,
                                                  scheduler_config cfg) {
  auto& s = self->state;
  s.cfg = std::move(cfg);
  s.io = std::make_unique<actor_io>(self);
  s.st = std::make_unique<scheduler_state>(*s.io, s.cfg.resources, s.cfg.max_workers);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = *self->state.st;
    st.on_worker_down(dm.source);
    st.on_holder_down(dm.source);
  });
  return {
    [self](node_atom, const std::string& host, std::uint16_t port,
           const caf::actor& control) {
      auto& s = self->state;
      s.host = host;
      s.port = port;
      s.control = control;
      if (!s.cfg.prestart_exe.empty())
        s.st->prestart(s.cfg.prestart_exe, s.cfg.pool_size);
    },
    [self](hello_atom, const std::string& exe) {
      auto& s = self->state;
      s.st->job_started(exe);
      s.st->prestart(exe, s.cfg.pool_size);
    },
    [self](job_end_atom, const std::string& exe) {
      self->state.st->job_ended(exe);
    },
    [self](kill_atom, std::uint64_t worker_id) {
      self->state.st->kill(worker_id);
    },
    [self](register_atom, const worker_hello& hello) {
      self->monitor(hello.executor);
      self->state.st->on_register(hello);
    },
    [self](lease_atom, const lease_request& req) {
      self->state.st->on_lease(req);
    },
    [self](cancel_atom, std::uint64_t request_id, const caf::actor& requester) {
      self->state.st->on_cancel(request_id, requester.address());
    },
    [self](return_atom, std::uint64_t worker_id) {
      self->state.st->on_return(worker_id);
    },
    [self](blocked_atom, std::uint64_t worker_id) {
      self->state.st->on_blocked(worker_id);
    },
    [self](unblocked_atom, std::uint64_t worker_id) {
      self->state.st->on_unblocked(worker_id);
    },
    [self](child_atom, std::int32_t pid, std::int32_t status) {
      spdlog::info("worker process {} {}", pid, detail::describe_exit(status));
      self->state.st->on_child_exit(pid, status);
    },
    [self](status_atom) -> std::string {
      return self->state.st->describe_json();
    },
    [self](stop_atom) -> bool {
      self->state.st->stop_all();
      self->quit();
      return true;
    },
  };
}

} // namespace

local_scheduler_actor spawn_local_scheduler(caf::actor_system& sys,
                                            scheduler_config cfg) {
  return sys.spawn(scheduler_fn, std::move(cfg));
}

} // namespace troupe::sched
