#pragma once

// A member node's link to its head, which may die and come back
// (member_head_link.cpp): what is sent to the head is kept while it is gone,
// requests passed on to it wait for it, and a head that comes back at the
// same address is told all this node knows. Internal to actors/.

#include <chrono>
#include <utility>

#include <caf/all.hpp>

#include "actors/control_store_roles.hpp"

namespace troupe {

/// The head's node: its processes die with it.
inline constexpr std::uint64_t head_node_id = 1;

/// Sends `msg` to the head, or keeps it until a head is back.
void to_head(cs_ptr self, caf::message msg);

/// Passes the request `xs...` on to the head for its sender and answers
/// with the head's reply, first calling `on_reply` with it. While the head
/// is gone (or when it dies before it answers) the request waits for a head
/// to come back and is asked again; after the grace period it fails.
template <class R, class F, class... Ts>
caf::result<R> ask_head_then(cs_ptr self, F on_reply, Ts... xs) {
  auto& s = self->state;
  auto rp = self->make_response_promise<R>();
  auto key = ++s.next_head_request;
  auto send = [self, rp, key, on_reply, xs...]() mutable {
    self->request(self->state.head_cs, std::chrono::seconds(60), xs...)
        .then(
            [self, rp, key, on_reply](R& r) mutable {
              if (self->state.head_requests.erase(key) == 0)
                return; // answered already, by a head before this one
              on_reply(r);
              rp.deliver(std::move(r));
            },
            [self, rp, key](caf::error& e) mutable {
              auto& s = self->state;
              if (s.head_absent || s.head_requests.count(key) == 0)
                return; // asked again when a head is back
              s.head_requests.erase(key);
              rp.deliver(std::move(e));
            });
  };
  auto fail = [rp](caf::error e) mutable { rp.deliver(std::move(e)); };
  s.head_requests.emplace(key, cs_actor_state::head_request{send, fail});
  if (!s.head_absent)
    send();
  return rp;
}

/// As ask_head_then, with nothing to do with the reply on the way.
template <class R, class... Ts>
caf::result<R> ask_head(cs_ptr self, Ts... xs) {
  return ask_head_then<R>(self, [](const R&) {}, std::move(xs)...);
}

/// The head is gone: this node goes on, its processes learn that the head's
/// node is down, and it tries to reach a head again every second.
void head_lost(cs_ptr self, const std::string& reason);

/// The member's tick: another try to reach a head, or, after the grace
/// period, the end (what waits fails with head_unavailable; the node stops).
void member_tick(cs_ptr self);

} // namespace troupe
