#pragma once

// A blocking request to a system actor from outside any actor (the client
// core's public calls, the CLI): send, wait for the one reply, hand back its
// value or the error. The handle is typed, so asking an actor for something
// its interface does not answer, or expecting the wrong reply type, does
// not compile.

#include <chrono>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>

#include "troupe/errors.hpp"

namespace troupe::detail {

/// Sends `xs...` to `dest` and waits up to `timeout` for its reply of type
/// `Result`. Returns the reply, or CAF's error: `request_timeout` when none
/// came in time, `request_receiver_down` when `dest` is gone,
/// `invalid_argument` when `dest` is no actor at all.
template <class Result, class Handle, class... Ts>
caf::expected<Result> try_ask(caf::actor_system& sys, const Handle& dest,
                              std::chrono::milliseconds timeout, Ts&&... xs) {
  static_assert(!std::is_same_v<Handle, caf::actor>,
                "troupe: ask a typed actor handle, so a wrong message does not compile");
  caf::expected<Result> out{caf::error{}};
  caf::scoped_actor self{sys};
  self->request(dest, timeout, std::forward<Ts>(xs)...)
      .receive([&](Result& r) { out = std::move(r); },
               [&](caf::error& e) { out = std::move(e); });
  return out;
}

/// Like `try_ask`, but returns the reply or throws a `troupe::error` (of
/// kind `runtime`, or `head_unavailable` when a node gave up waiting for
/// its head) whose message is `what` (e.g. "the control store did not
/// answer"), a colon, and CAF's error as `sys.render` writes it.
template <class Result, class Handle, class... Ts>
Result ask(caf::actor_system& sys, const Handle& dest, std::chrono::milliseconds timeout,
           const std::string& what, Ts&&... xs) {
  auto r = try_ask<Result>(sys, dest, timeout, std::forward<Ts>(xs)...);
  if (!r) {
    auto text = sys.render(r.error());
    auto kind = text.find("head_unavailable") != std::string::npos
                    ? error_kind::head_unavailable
                    : error_kind::runtime;
    throw error(kind, what + ": " + text);
  }
  return std::move(*r);
}

} // namespace troupe::detail
