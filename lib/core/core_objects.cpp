// The core actor's handlers for objects (core_state.hpp): fetches between
// owners and borrowers, owners found through the control store, async
// results forwarded, lost objects rebuilt, and the messages of reference
// counting.
#include "lib/core/core_state.hpp"

#include <functional>

#include <spdlog/spdlog.h>

#include "lib/protocol/handles.hpp"

namespace troupe::detail {

namespace {

/// The messages of reference counting, through the peer links.
class borrow_io final : public borrowing::io {
public:
  explicit borrow_io(core_ptr self) : self_(self) {}

  void find_owner(std::uint64_t owner_id) override {
    self_->send(self_->state.c->control_store(), owner_atom::value, owner_id,
                core_actor{self_});
  }
  void register_at(const core_actor& owner, const object_id& id,
                   const caf::actor_addr& borrower) override {
    self_->state.links->send(owner.node(), [self = self_, owner, id, borrower] {
      self->request(owner, std::chrono::seconds(30), borrow_atom::value, id, borrower,
                    std::uint32_t{1})
        .then(
          [self, id](bool held) {
            if (!held)
              spdlog::warn("object {} was freed before a borrower was counted", id.to_string());
            self->state.borrows->on_answer();
          },
          [self](caf::error&) { self->state.borrows->on_answer(); });
    });
  }
  void unregister_at(const core_actor& owner, const object_id& id,
                     std::uint32_t count) override {
    self_->state.links->send(owner.node(), [self = self_, owner, id, count] {
      self->send(owner, unborrow_atom::value, id, self->address(), count);
    });
  }
  void watch(const caf::actor_addr& borrower) override { self_->monitor(borrower); }

private:
  core_ptr self_;
};


} // namespace

std::unique_ptr<borrowing::io> make_borrow_io(core_ptr self) {
  return std::make_unique<borrow_io>(self);
}

void on_fetch(core_ptr self, const fetch_request& req) {
  auto& st = self->state;
  bool pending;
  auto r = st.c->table().reply_for(req.id, &pending);
  if (pending)
    st.fetchers[req.id].push_back(req.borrower);
  else
    self->send(req.borrower, object_atom::value, std::move(r));
}


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
  }
  st.borrows->on_owner(owner_id, owner);
  if (owner) {
    st.owners[owner_id] = owner;
    st.c->table().set_owner(owner_id, handle_cast<caf::actor>(owner));
    for (auto& id : waiting)
      st.io->fetch(id, {}); // finds the owner just learnt
  }
  for (auto& id : waiting)
    st.sub->on_object_changed(id);
  st.sub->flush();
}


void on_forward(core_ptr self, const forward_request& req) {
  auto& st = self->state;
  auto& x = req.object;
  st.forwards[x].push_back({req.task, req.caller, st.c->unpark_forward(x)});
  caf::actor owner;
  if (st.c->table().claim_fetch(x, &owner))
    st.io->fetch(x, owner); // a borrowed ref: ask its owner
  st.answer_forwards(self);
}


namespace {

/// Asks the owner of borrowed object `id` to rebuild it; `then` gets its
/// answer: "" (under way) or why not.
void ask_owner_to_rebuild(core_ptr self, const object_id& id,
                          std::function<void(const std::string& why)> then) {
  auto owner = handle_cast<core_actor>(self->state.c->table().owner_of(id));
  if (!owner) {
    then("its owner is not known here");
    return;
  }
  self->request(owner, std::chrono::seconds(30), rebuild_atom::value, id)
    .then([then](const std::string& why) { then(why); },
          [then](caf::error&) { then("its owner did not answer"); });
}

} // namespace

caf::typed_response_promise<std::string> rebuild(core_ptr self, const object_id& id) {
  auto rp = self->make_response_promise<std::string>();
  if (id.owner == self->state.c->table().owner_id()) {
    std::string why;
    with_submitter(self, [&](submitter& s) { why = s.rebuild(id); });
    rp.deliver(why);
    return rp;
  }
  ask_owner_to_rebuild(self, id, [self, rp, id](const std::string& why) mutable {
    if (why.empty())
      self->state.c->table().reset_lost(id);
    rp.deliver(why);
  });
  return rp;
}

void rebuild_borrowed(core_ptr self, const object_id& id) {
  ask_owner_to_rebuild(self, id, [self, id](const std::string& why) {
    auto& st = self->state;
    if (why.empty()) {
      // Under way: fetch it again, answered once the owner has it.
      caf::actor known;
      if (st.c->table().claim_fetch(id, &known))
        st.io->fetch(id, known);
      return;
    }
    st.c->table().fail(id, {error_kind::object_lost, "", "",
                            "object " + id.to_string() + " was lost and cannot be rebuilt: "
                              + why});
    st.sub->on_object_changed(id);
    st.sub->flush();
  });
}

} // namespace troupe::detail
