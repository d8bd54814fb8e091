#pragma once

// The core actor's state (core_actor.cpp: tasks, leases, nodes;
// core_objects.cpp: objects, their owners and borrowers).

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/all.hpp>

#include "lib/core/borrowing.hpp"
#include "lib/core/client.hpp"
#include "lib/core/peer_links.hpp"
#include "lib/core/submitter.hpp"
#include "lib/protocol/capnp_codec.hpp"
#include "lib/protocol/core_actor.hpp"

namespace troupe::detail {

struct core_state {
  client* c = nullptr;
  std::unique_ptr<submitter_io> io;
  std::unique_ptr<submitter> sub;
  std::unique_ptr<peer_links::io> link_io;
  std::unique_ptr<peer_links> links;
  std::unique_ptr<borrowing::io> borrow_io;
  std::unique_ptr<borrowing> borrows;
  /// Leased workers' executors we monitor (once each): their down tells the
  /// peer links that the worker may be gone.
  std::unordered_set<caf::actor_addr> watched_executors;
  /// Submissions taken from the user threads' queue; those from
  /// `batch_next` on are not submitted yet (see submit_queued).
  std::vector<task_record> batch;
  std::size_t batch_next = 0;
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
            c->pin_for_receiver(v); // the caller's own pin
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

/// Applies `f` to the submitter, then sends what it decided.
template <class F>
void with_submitter(core_ptr self, F f) {
  f(*self->state.sub);
  self->state.sub->flush();
}

/// A borrower asks for one of our objects: answered now, or once ready.
void on_fetch(core_ptr self, const fetch_request& req);
/// An owner answered our fetch: the borrowed object is ready or failed.
void on_object(core_ptr self, object_reply& r);
/// The control store named the owner of objects we wait for (a null core:
/// it is gone, and so are they).
void on_owner(core_ptr self, const owner_entry& entry);
/// An async method of an actor here returned a ref: its value goes to the
/// caller when ready.
void on_forward(core_ptr self, const forward_request& req);
/// The only copy of stored object `id` is lost: rebuilds it when it is ours,
/// else asks its owner to; a borrower then fetches it anew.
caf::typed_response_promise<std::string> rebuild(core_ptr self, const object_id& id);
/// A borrowed argument of a task of ours was lost: its owner rebuilds it
/// and we fetch it anew, or it fails with the owner's reason.
void rebuild_borrowed(core_ptr self, const object_id& id);
/// Returns the messages of reference counting, as `self`'s.
std::unique_ptr<borrowing::io> make_borrow_io(core_ptr self);

} // namespace troupe::detail
