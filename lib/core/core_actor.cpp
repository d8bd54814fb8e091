#include "lib/core/core_actor.hpp"

#include <cstdio>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <spdlog/spdlog.h>

#include "lib/core/client.hpp"
#include "lib/core/executor.hpp"
#include "lib/core/exe_server.hpp"
#include "lib/core/peer_links.hpp"
#include "lib/core/submitter.hpp"
#include "lib/protocol/capnp_codec.hpp"
#include "lib/protocol/handles.hpp"

namespace troupe::detail {

namespace {

class core_io;

struct core_state {
  client* c = nullptr;
  std::unique_ptr<submitter_io> io;
  std::unique_ptr<submitter> sub;
  std::unique_ptr<peer_links::io> link_io;
  std::unique_ptr<peer_links> links;
  /// Leased workers' executors we monitor (once each): their down tells the
  /// peer links that the worker may be gone.
  std::unordered_set<caf::actor_addr> watched_executors;
  std::vector<task_record> batch;
  /// Borrowers waiting for pending objects of ours.
  std::unordered_map<object_id, std::vector<core_actor>> fetchers;
  static inline const char* name = "troupe.core";

  /// Owners of borrowed refs, by owner id, and fetches waiting to learn one.
  std::unordered_map<std::uint64_t, core_actor> owners;
  std::unordered_map<std::uint64_t, std::vector<object_id>> owner_lookups;

  /// Async methods waiting for an object: (task id, caller, the ref).
  struct forward {
    std::uint64_t task_id;
    core_actor caller;
    ref_ptr ref;
  };
  std::unordered_map<object_id, std::vector<forward>> forwards;

  /// Sends the results of async methods whose objects are ready.
  template <class Self>
  void answer_forwards(Self self) {
    for (auto it = forwards.begin(); it != forwards.end();) {
      stored_value v;
      error_info e;
      auto st = c->table().peek(it->first, &v, &e);
      if (st == object_table::status::pending) {
        ++it;
        continue;
      }
      for (auto& f : it->second) {
        capnp::MallocMessageBuilder b;
        auto r = b.initRoot<schema::ResultBatch>().initResults(1)[0];
        r.setTaskId(f.task_id);
        if (st == object_table::status::ready) {
          if (v.in_store)
            c->pin_stored(v); // the caller's own pin
          write_value(r.initValue(), v);
        } else {
          if (st == object_table::status::unknown)
            e = {error_kind::object_lost, "", "", "the async result was freed"};
          write_error(r.initError(), e);
        }
        self->send(f.caller, done_atom::value, to_bytes(b));
      }
      it = forwards.erase(it);
    }
  }

  /// Answers borrowers whose objects are no longer pending.
  template <class Self>
  void answer_fetchers(Self self) {
    for (auto it = fetchers.begin(); it != fetchers.end();) {
      bool pending;
      auto r = c->table().reply_for(it->first, &pending);
      if (pending) {
        ++it;
        continue;
      }
      for (auto& who : it->second)
        self->send(who, object_atom::value, r);
      it = fetchers.erase(it);
    }
  }
};


using core_ptr = core_actor::stateful_pointer<core_state>;

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
  void kill_worker(std::uint64_t worker_id, const local_scheduler_actor& granter) override {
    self_->send(granter ? granter : scheduler(), kill_atom::value, worker_id);
  }
  void actor_created(const object_id& id, std::uint64_t, const stored_value*,
                     const error_info* error) override {
    // Success is reported by the worker itself, with the instance's handle.
    if (error)
      self_->send(control(), actor_fail_atom::value, id, *error);
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

/// Opens the direct connections of `peer_links` through the middleman.
class link_io final : public peer_links::io {
public:
  explicit link_io(core_ptr self) : self_(self) {}

  void connect(const endpoint& where) override {
    auto self = self_;
    self->request(self->system().middleman().actor_handle(), std::chrono::seconds(10),
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

/// User threads queued tasks: submit them all.
void submit_queued(core_ptr self) {
  auto& st = self->state;
  st.batch.clear();
  st.c->take_submissions(st.batch);
  for (auto& t : st.batch)
    st.sub->submit(std::move(t));
  st.sub->flush();
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

/// A borrower asks for one of our objects: answered now, or once ready.
void on_fetch(core_ptr self, const fetch_request& req) {
  auto& st = self->state;
  bool pending;
  auto r = st.c->table().reply_for(req.id, &pending);
  if (pending)
    st.fetchers[req.id].push_back(req.borrower);
  else
    self->send(req.borrower, object_atom::value, std::move(r));
}

/// An owner answered our fetch: the borrowed object is ready or failed.
void on_object(core_ptr self, object_reply& r) {
  auto& st = self->state;
  if (r.failed) {
    st.c->table().fail(r.id, r.error);
  } else {
    stored_value v;
    static_cast<object_descriptor&>(v) = std::move(r.value);
    v.id = r.id;
    if (v.in_store)
      st.c->pin_stored(v); // the borrower's own pin
    else
      v.inline_data = std::make_shared<const std::vector<char>>(std::move(r.data));
    st.c->table().fulfill(r.id, std::move(v));
  }
  st.sub->on_object_changed(r.id);
  st.sub->flush();
  if (!st.forwards.empty())
    st.answer_forwards(self);
}

/// The control store named the owner of objects we wait for (a null core:
/// it is gone, and so are they).
void on_owner(core_ptr self, const owner_entry& entry) {
  auto& [owner_id, owner, address] = entry;
  auto& st = self->state;
  auto waiting = std::move(st.owner_lookups[owner_id]);
  st.owner_lookups.erase(owner_id);
  if (!owner) {
    for (auto& id : waiting)
      st.c->table().fail(id, {error_kind::owner_died, "", "",
                              "the process that owns object " + id.to_string()
                                + " is gone"});
  } else {
    st.links->learn(owner.node(), address);
    st.owners[owner_id] = owner;
    st.c->table().set_owner(owner_id, handle_cast<caf::actor>(owner));
    for (auto& id : waiting)
      st.io->fetch(id, {}); // finds the owner just learnt
  }
  for (auto& id : waiting)
    st.sub->on_object_changed(id);
  st.sub->flush();
}

/// An async method of an actor here returned a ref: its value goes to the
/// caller when ready.
void on_forward(core_ptr self, const forward_request& req) {
  auto& st = self->state;
  auto& x = req.object;
  st.forwards[x].push_back({req.task, req.caller, st.c->unpark_forward(x)});
  caf::actor owner;
  if (st.c->table().claim_fetch(x, &owner))
    st.io->fetch(x, owner); // a borrowed ref: ask its owner
  st.answer_forwards(self);
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
  doc.objects = st.c->table().object_rows(limit);
  return to_json_text(doc);
}

/// Applies `f` to the submitter, then sends what it decided.
template <class F>
void with_submitter(core_ptr self, F f) {
  f(*self->state.sub);
  self->state.sub->flush();
}

/// The only copy of stored object `id` is lost: rebuilds it when it is ours,
/// else asks its owner to; a borrower then fetches it anew.
caf::typed_response_promise<std::string> rebuild(core_ptr self, const object_id& id) {
  auto rp = self->make_response_promise<std::string>();
  auto& table = self->state.c->table();
  if (id.owner == table.owner_id()) {
    std::string why;
    with_submitter(self, [&](submitter& s) { why = s.rebuild(id); });
    rp.deliver(why);
    return rp;
  }
  auto owner = handle_cast<core_actor>(table.owner_of(id));
  if (!owner) {
    rp.deliver(std::string{"its owner is not known here"});
    return rp;
  }
  self->request(owner, std::chrono::seconds(30), rebuild_atom::value, id)
    .then(
      [self, rp, id](const std::string& why) mutable {
        if (why.empty())
          self->state.c->table().reset_lost(id);
        rp.deliver(why);
      },
      [rp](caf::error&) mutable { rp.deliver(std::string{"its owner did not answer"}); });
  return rp;
}


core_actor::behavior_type core_fn(core_ptr self, client* c) {
  auto& st = self->state;
  st.c = c;
  st.io = std::make_unique<core_io>(self);
  st.link_io = std::make_unique<link_io>(self);
  st.links = std::make_unique<peer_links>(*st.link_io, self->system().node(),
                                          c->max_direct_peers());
  st.sub = std::make_unique<submitter>(c->table(), *st.io, c->exe(), core_actor{self});
  self->monitor(c->node().scheduler);
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  return {
    [self](submit_atom) { submit_queued(self); },
    [self](granted_atom, const lease_grant& g) {
      if (g.executor) {
        if (self->state.watched_executors.insert(g.executor.address()).second)
          self->monitor(g.executor);
        self->state.links->learn(g.executor.node(), g.address);
      }
      with_submitter(self, [&](submitter& s) { s.on_granted(g); });
    },
    [self](denied_atom, std::uint64_t request_id, const std::string& why) {
      with_submitter(self, [&](submitter& s) { s.on_denied(request_id, why); });
    },
    [self](worker_died_atom, std::uint64_t worker_id, const std::string& why) {
      with_submitter(self, [&](submitter& s) { s.on_worker_died(worker_id, why); });
    },
    [self](done_atom, const std::vector<char>& results) { on_results(self, results); },
    [self](fetch_atom, const object_id& id) {
      caf::actor owner;
      if (self->state.c->table().claim_fetch(id, &owner))
        self->state.io->fetch(id, owner); // finds the owner first when unknown
    },
    [self](fetch_atom, const fetch_request& req) { on_fetch(self, req); },
    [self](object_atom, object_reply& r) { on_object(self, r); },
    [self](tick_atom) { self->state.sub->on_tick(); },
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
    [self](status_atom) -> std::string { return describe(self); },
    [](exe_atom) { return exe_size(); },
    [](exe_atom, std::uint64_t start, std::uint64_t len) { return exe_chunk(start, len); },
    [self](cancel_atom, const object_id& ref, bool force, bool recursive) -> std::string {
      std::string refused;
      with_submitter(self, [&](submitter& s) { refused = s.cancel(ref, force, recursive); });
      return refused;
    },
    [self](cancel_atom, std::uint64_t task_id, bool recursive, bool force) {
      // A submitter cancels a task it pushed to this worker.
      task_key key{handle_cast<caf::actor_addr>(self->current_sender()), task_id};
      mark_cancelled(key);
      if (recursive)
        with_submitter(self, [&](submitter& s) { s.cancel_children(key, force); });
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
  return sys.spawn(core_fn, &c);
}

} // namespace troupe::detail
