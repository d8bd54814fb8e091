#include "lib/core/core_actor.hpp"

#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include "lib/net/transport.hpp"
#include <spdlog/spdlog.h>

#include "lib/common/process_metrics.hpp"
#include "lib/core/core_state.hpp"
#include "lib/core/executor.hpp"
#include "lib/core/exe_server.hpp"
#include "lib/core/peer_links.hpp"
#include "lib/core/submitter.hpp"
#include "lib/core/worker_output.hpp"
#include "lib/protocol/capnp_codec.hpp"
#include "lib/protocol/handles.hpp"

namespace troupe::detail {

namespace {

/// The submitter's effects, as messages of the core actor.
class core_io final : public submitter_io {
public:
  explicit core_io(core_ptr self) : self_(self) {}

  void request_lease(lease_request req) override {
    self_->send(scheduler(), lease_atom::value, std::move(req));
  }
  void cancel_lease(std::uint64_t request_id) override {
    self_->send(scheduler(), cancel_atom::value, request_id, core_actor{self_});
  }
  void return_lease(std::uint64_t worker_id, const local_scheduler_actor& granter) override {
    self_->send(granter ? granter : scheduler(), return_atom::value, worker_id);
  }
  void push(const executor_actor& executor, std::vector<char> batch) override {
    auto& links = *self_->state.links;
    if (links.sends_now(executor.node())) { // the hot path: no closure to build
      self_->send(executor, push_atom::value, std::move(batch));
      return;
    }
    links.send(executor.node(), [self = self_, executor, batch = std::move(batch)]() mutable {
      self->send(executor, push_atom::value, std::move(batch));
    });
  }
  void push_to_host(const core_actor& host, light_calls calls) override {
    auto& links = *self_->state.links;
    if (links.sends_now(host.node())) {
      self_->send(host, push_atom::value, std::move(calls));
      return;
    }
    links.send(host.node(), [self = self_, host, calls = std::move(calls)]() mutable {
      self->send(host, push_atom::value, std::move(calls));
    });
  }
  void schedule_light_flush() override { self_->send(self_, flush_atom::value); }
  void fetch(const object_id& id, const caf::actor& owner) override;
  void schedule_tick(std::chrono::milliseconds delay) override {
    self_->delayed_send(self_, delay, tick_atom::value);
  }
  void resolve_actor(const object_id& id) override {
    self_->send(control(), resolve_atom::value, id,
                owner_entry{self_->state.c->owner_id(), core_actor{self_}});
  }
  void monitor_instance(const executor_actor& instance) override {
    self_->monitor(instance);
  }
  void cancel_remote(const core_actor& worker_core, std::uint64_t task_id, bool recursive,
                     bool force) override {
    self_->send(worker_core, cancel_atom::value, task_id, recursive, force);
  }
  bool adopt(stored_value& v) override {
    return self_->state.c->adopt_stored(v);
  }
  void rebuild_borrowed(const object_id& id) override {
    troupe::detail::rebuild_borrowed(self_, id);
  }
  void kill_worker(std::uint64_t worker_id, const local_scheduler_actor& granter) override {
    self_->send(granter ? granter : scheduler(), kill_atom::value, worker_id);
  }
  void release_slots(std::uint64_t worker_id, const resource_map& each, std::uint32_t count,
                     const local_scheduler_actor& granter) override {
    self_->send(granter ? granter : scheduler(), release_atom::value, worker_id, each, count);
  }
  void actor_created(const object_id& id, std::uint64_t worker_id, std::uint32_t restarts,
                     const stored_value*, const error_info* error) override {
    // The worker reports success itself, with the instance's handle, but
    // that report dies with its node: where it was built is told too.
    if (error)
      self_->send(control(), actor_fail_atom::value, id, *error, restarts);
    else
      self_->send(control(), built_atom::value, id, worker_id, restarts);
  }

  void keep_creation(const actor_creation& c) override {
    self_->send(control(), creation_atom::value, c);
  }

private:
  const control_store_actor& control() { return self_->state.c->control_store(); }
  const local_scheduler_actor& scheduler() { return self_->state.c->node().scheduler; }
  core_ptr self_;
};

void core_io::fetch(const object_id& id, const caf::actor& known_owner) {
  auto& st = self_->state;
  // A ref names its owner untyped (refs are public types).
  auto owner = handle_cast<core_actor>(known_owner);
  if (!owner) {
    auto it = st.owners.find(id.owner);
    if (it == st.owners.end()) {
      // Ask the control store who owns it; fetch when it answers.
      auto& waiting = st.owner_lookups[id.owner];
      if (waiting.empty())
        self_->send(control(), owner_atom::value, id.owner, core_actor{self_});
      waiting.push_back(id);
      return;
    }
    owner = it->second;
  }
  self_->monitor(owner);
  st.links->send(owner.node(), [self = self_, owner, id] {
    self->send(owner, fetch_atom::value, fetch_request{id, core_actor{self}});
  });
}

/// Opens the direct connections of `peer_links` through the transport.
class link_io final : public peer_links::io {
public:
  explicit link_io(core_ptr self) : self_(self) {}

  void connect(const endpoint& where) override {
    auto self = self_;
    self->request(net::transport_of(self->system()), std::chrono::seconds(10),
                  caf::connect_atom::value, where.host, where.port)
      .then(
        [self, where](const caf::node_id& who, const caf::strong_actor_ptr&,
                      const std::set<std::string>&) {
          self->state.links->on_connected(where, who);
        },
        [self, where](const caf::error& e) {
          self->state.links->on_failed(where, self->system().render(e));
        });
  }

private:
  core_ptr self_;
};

/// A watched process is down: our node (a worker then ends; a driver's
/// tasks fail), an actor instance we call, or an owner of refs we borrowed.
void on_down(core_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (st.c->closing)
    return;
  st.borrows->on_down(dm.source);
  st.links->lost(dm.source.node()); // its next message connects again
  st.watched_executors.erase(dm.source);
  if (dm.source == st.c->node().scheduler.address()) {
    spdlog::warn("node daemon is gone ({})", caf::to_string(dm.reason));
    if (st.c->role() == process_role::worker)
      std::_Exit(0); // a worker has nothing left to do without its node
    st.sub->on_node_down({error_kind::node_died, "", "",
                          "the node daemon died: " + caf::to_string(dm.reason)});
    return;
  }
  if (st.sub->on_instance_down(dm.source)) {
    st.sub->flush();
    return;
  }
  auto failed = st.c->table().fail_borrowed_from(
    dm.source, {error_kind::owner_died, "", "", "the process that owns the object died"});
  for (auto& id : failed)
    st.sub->on_object_changed(id);
  st.sub->flush();
}

/// User threads queued tasks: submit them, `submit_chunk` at a time. A
/// burst of 100,000 calls submitted in one go would hold the core (and the
/// hosts waiting for its first message) for a quarter of a second; in
/// chunks, each chunk's calls go out while the next is submitted, and
/// results read in between.
void submit_queued(core_ptr self) {
  constexpr std::size_t submit_chunk = 2048;
  auto& st = self->state;
  bool took = st.batch_next >= st.batch.size();
  if (took) {
    st.batch.clear();
    st.batch_next = 0;
    st.c->take_submissions(st.batch);
  }
  auto end = std::min(st.batch.size(), st.batch_next + submit_chunk);
  for (; st.batch_next < end; ++st.batch_next)
    st.sub->submit(std::move(st.batch[st.batch_next]));
  st.sub->flush();
  bool rest = st.batch_next < st.batch.size();
  if (rest)
    st.sub->flush_light(); // this chunk's light calls go now
  // Goes on with the rest; a handler that did not take from the queue also
  // looks at it again, since the nudge for what came meanwhile was its own.
  if (rest || !took)
    self->send(self, submit_atom::value);
}

/// A worker sent results: apply them, then answer who waited for them.
void on_results(core_ptr self, const std::vector<char>& results) {
  auto& st = self->state;
  try {
    st.sub->on_results(results, self->current_sender());
  } catch (const std::exception& e) {
    spdlog::error("dropped a result batch: {}", e.what());
  }
  st.sub->flush();
  if (!st.fetchers.empty())
    st.answer_fetchers(self);
  if (!st.forwards.empty())
    st.answer_forwards(self);
}

/// Calls of light actors of this process, from one submitter: each batch
/// goes on to its actor as the submitter's own message (results go straight
/// back to it). An actor that is gone drops its calls, as a message sent to
/// it would be dropped: the submitter watches it and hears of its end.
void forward_light_calls(core_ptr self, light_calls& calls) {
  auto sender = self->current_sender();
  auto n = std::min(calls.actors.size(), calls.batches.size());
  self->state.c->light_actors().for_each_found(
    std::span{calls.actors.data(), n}, [&](std::size_t i, const caf::strong_actor_ptr& target) {
      target->enqueue(caf::make_mailbox_element(sender, caf::make_message_id(), {},
                                                push_atom::value, std::move(calls.batches[i])),
                      self->context());
    });
}

/// Another node died: its leases' tasks fail, and owners that lived there
/// are gone from the control store, so every object still awaited asks for
/// its owner again (which fails those whose owner is gone).
void on_node_down(core_ptr self, std::uint64_t node, const std::string& why) {
  auto& st = self->state;
  st.sub->on_peer_node_down(node, why);
  st.owners.clear();
  for (auto& id : st.c->table().pending_borrowed()) {
    auto& waiting = st.owner_lookups[id.owner];
    if (waiting.empty())
      self->send(st.c->control_store(), owner_atom::value, id.owner, core_actor{self});
    waiting.push_back(id);
  }
  st.sub->flush();
}

/// Returns this process's status document: its tasks and objects.
std::string describe(core_ptr self) {
  auto& st = self->state;
  constexpr std::size_t limit = 10000;
  process_status doc;
  doc.owner = st.c->owner_id();
  doc.pid = ::getpid();
  doc.node = st.c->node().node_id;
  doc.role = st.c->role() == process_role::driver ? "driver" : "worker";
  if (auto& a = st.c->address(); a.port != 0)
    doc.address = a.host + ":" + std::to_string(a.port);
  doc.direct_peers = st.links->direct_count();
  doc.tasks = st.sub->task_rows(limit);
  auto* store = st.c->store();
  auto node = st.c->node().node_id;
  doc.objects = st.c->table().object_rows(limit, [&](const stored_value& v, object_row& row) {
    if (store == nullptr || (v.node != 0 && v.node != node))
      return; // another node's store: ask its processes
    try {
      auto p = store->place(v.offset);
      row.where = p.where;
      row.file = p.file;
    } catch (const std::exception&) {
      row.where = "unknown";
    }
  });
  return to_json_text(doc);
}

/// This process's metrics (process_metrics.hpp), and its tasks by state.
std::vector<char> metrics(core_ptr self) {
  auto families = collect_process_metrics();
  prometheus::MetricFamily tasks{"troupe_tasks", "Tasks this process submitted that are "
                                                 "not done, by state",
                                 prometheus::MetricType::Gauge, {}};
  std::map<std::string, double> by_state{{"waiting", 0}, {"queued", 0}, {"running", 0}};
  for (auto& row : self->state.sub->task_rows(std::numeric_limits<std::size_t>::max()))
    by_state[row.state] += 1;
  for (auto& [state, n] : by_state) {
    prometheus::ClientMetric m;
    m.label = {{"state", state}};
    m.gauge.value = n;
    tasks.metric.push_back(std::move(m));
  }
  families.push_back(std::move(tasks));
  metric_families labelled;
  merge_metrics(labelled, std::move(families), {{"pid", std::to_string(::getpid())}});
  return encode_metrics(labelled);
}

/// A worker is ours: its executor is watched, and its address known.
void on_granted(core_ptr self, const lease_grant& g) {
  if (g.executor) {
    if (self->state.watched_executors.insert(g.executor.address()).second)
      self->monitor(g.executor);
    self->state.links->learn(g.executor.node(), g.address);
  }
  with_submitter(self, [&](submitter& s) { s.on_granted(g); });
}

/// A submitter cancels a task it pushed to this worker.
void on_cancel_pushed(core_ptr self, std::uint64_t task_id, bool recursive, bool force) {
  task_key key{handle_cast<caf::actor_addr>(self->current_sender()), task_id};
  mark_cancelled(key);
  if (recursive)
    with_submitter(self, [&](submitter& s) { s.cancel_children(key, force); });
}

/// Makes the core's parts and watches the node.
void start_core(core_ptr self, client* c) {
  auto& st = self->state;
  st.c = c;
  st.io = std::make_unique<core_io>(self);
  st.link_io = std::make_unique<link_io>(self);
  st.links = std::make_unique<peer_links>(*st.link_io, self->system().node(),
                                          c->max_direct_peers());
  st.sub = std::make_unique<submitter>(c->table(), *st.io, c->exe(), core_actor{self});
  st.borrow_io = make_borrow_io(self);
  st.borrows = std::make_unique<borrowing>(c->table(), *st.borrow_io, self->address());
  self->monitor(c->node().scheduler);
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
}

core_actor::behavior_type core_fn(core_ptr self, client* c) {
  start_core(self, c);
  return {
    [self](submit_atom) { submit_queued(self); },
    [self](granted_atom, const lease_grant& g) { on_granted(self, g); },
    [self](denied_atom, std::uint64_t request_id, const std::string& why) {
      with_submitter(self, [&](submitter& s) { s.on_denied(request_id, why); });
    },
    [self](worker_died_atom, std::uint64_t worker_id, const std::string& why) {
      with_submitter(self, [&](submitter& s) { s.on_worker_died(worker_id, why); });
    },
    [self](done_atom, const std::vector<char>& results) { on_results(self, results); },
    [self](push_atom, light_calls& calls) { forward_light_calls(self, calls); },
    [self](fetch_atom, const object_id& id) {
      caf::actor owner;
      if (self->state.c->table().claim_fetch(id, &owner))
        self->state.io->fetch(id, owner); // finds the owner first when unknown
    },
    [self](fetch_atom, const fetch_request& req) { on_fetch(self, req); },
    [self](object_atom, object_reply& r) { on_object(self, r); },
    [self](tick_atom) { self->state.sub->on_tick(); },
    [self](flush_atom) {
      submit_queued(self); // what came meanwhile goes too
      self->state.sub->flush_light();
    },
    [self](actor_atom, const actor_status& status) {
      if (status.instance)
        self->state.links->learn(status.instance.node(), status.address);
      with_submitter(self, [&](submitter& s) { s.on_actor_status(status); });
    },
    [self](owner_atom, const owner_entry& entry) { on_owner(self, entry); },
    [self](forward_atom, const forward_request& req) { on_forward(self, req); },
    [self](node_down_atom, std::uint64_t node, const std::string& why) {
      on_node_down(self, node, why);
    },
    [self](borrow_atom, const object_id& id, const caf::actor_addr& borrower) {
      self->state.borrows->borrow(id, borrower);
    },
    [self](unborrow_atom, const object_id& id, const caf::actor& owner, std::uint32_t n) {
      self->state.borrows->unborrow(id, owner, n);
    },
    [self](borrow_atom, const object_id& id, const caf::actor_addr& borrower,
           std::uint32_t n) { return self->state.borrows->on_register(id, borrower, n); },
    [self](unborrow_atom, const object_id& id, const caf::actor_addr& borrower,
           std::uint32_t n) { self->state.c->table().remove_borrower(id, borrower, n); },
    [self](status_atom) -> std::string { return describe(self); },
    [](log_atom, const log_batch& batch) { print_log_batch(batch); },
    [self](metrics_atom) { return metrics(self); },
    [](exe_atom) { return exe_size(); },
    [](exe_atom, std::uint64_t start, std::uint64_t len) { return exe_chunk(start, len); },
    [self](cancel_atom, const object_id& ref, bool force, bool recursive) -> std::string {
      std::string refused;
      with_submitter(self, [&](submitter& s) { refused = s.cancel(ref, force, recursive); });
      return refused;
    },
    [self](cancel_atom, std::uint64_t task_id, bool recursive, bool force) {
      on_cancel_pushed(self, task_id, recursive, force);
    },
    [self](rebuild_atom, const object_id& id) { return rebuild(self, id); },
    [self](restart_atom, const object_id& id, std::uint32_t restarts) {
      with_submitter(self, [&](submitter& s) { s.on_restart(id, restarts); });
    },
    [self](kill_atom, const object_id& id, const std::string& name) {
      // Calls made from here after kill() fail, whatever the race with it.
      actor_status dead;
      dead.id = id;
      dead.death = {error_kind::actor_died, name, "", "killed by troupe::kill"};
      self->state.sub->on_actor_status(dead);
    },
  };
}

} // namespace

core_actor spawn_core(caf::actor_system& sys, client& c) {
  // A worker's core has a thread of its own: the results its tasks and
  // light actors wait for in `get` must arrive while every thread of the
  // pool is blocked in one.
  if (c.role() == process_role::worker)
    return sys.spawn<caf::detached>(core_fn, &c);
  return sys.spawn(core_fn, &c);
}

} // namespace troupe::detail
