// The detail functions behind troupe/actor.hpp: creating, calling, finding
// and killing actors.

#include "troupe/actor.hpp"
#include "troupe/cancel.hpp"

#include <cstdlib>

#include <caf/all.hpp>

#include "lib/common/ask.hpp"
#include "lib/core/call_api.hpp"
#include "lib/core/client.hpp"

namespace troupe::detail {

namespace {

using namespace std::chrono_literals;

const control_store_actor& control_store(client& c) {
  return c.control_store();
}

/// Returns whether an actor with `options` is light: asked for, or the
/// job's default (TROUPE_ACTOR_ISOLATION) when it does not say.
bool is_shared(const actor_options& options) {
  if (options.isolation != actor_isolation::default_)
    return options.isolation == actor_isolation::shared;
  static const bool shared_default = [] {
    auto* v = std::getenv("TROUPE_ACTOR_ISOLATION");
    std::string s = v ? v : "";
    if (!s.empty() && s != "shared" && s != "process")
      throw error(error_kind::runtime, "TROUPE_ACTOR_ISOLATION is '" + s
                                         + "': it takes 'process' or 'shared'");
    return s == "shared";
  }();
  return shared_default;
}

} // namespace

actor_ref_ptr create_actor(const function_entry& factory, std::vector<task_arg>&& args,
                           const actor_options& options) {
  auto& c = client::get();
  actor_record rec;
  rec.id = c.next_object_id();
  rec.class_name = factory.class_name;
  rec.name = options.name;
  rec.name_space = options.name_space;
  rec.detached = options.detached;
  rec.owner = c.core();
  rec.max_restarts = options.max_restarts;
  rec.max_task_retries = options.max_task_retries;
  rec.shared = is_shared(options);
  if (rec.shared && options.strategy.type == scheduling_strategy::kind::placement_group)
    throw error(error_kind::runtime,
                "actor " + factory.class_name + ": a light actor (isolation shared) cannot "
                  + "be placed in a placement group yet; use isolation process");
  if (rec.shared && rec.name.empty()) {
    // Nothing can refuse an unnamed actor: no round trip per light actor.
    // The resolve of its first call leaves this process after this, on the
    // same connection, so the control store knows it by then.
    caf::anon_send(control_store(c), register_atom::value, rec);
  } else {
    auto reg = ask<registration>(c.system(), control_store(c), 10s,
                                 "the control store did not answer", register_atom::value,
                                 rec);
    if (!reg.accepted)
      throw error(reg.refusal.kind, reg.refusal.message);
  }
  auto display = options.name.empty() ? factory.class_name : options.name;
  c.submit(factory, std::move(args), "create " + display, placement_of(options),
           [&](task_record& t) {
             t.actor_id = rec.id;
             t.creates_actor = true;
             t.shared_actor = rec.shared;
             t.max_concurrency = options.max_concurrency;
             t.max_restarts = options.max_restarts;
           });
  // Non-detached: it lives while a handle to it does, anywhere.
  auto lifetime = options.detached ? nullptr : c.table().create_actor_lifetime(rec.id);
  return std::make_shared<const actor_ref>(
    actor_ref{rec.id, rec.class_name, display, std::move(lifetime)});
}

submission submit_method(const actor_ref& actor, const function_entry& method,
                         std::vector<task_arg>&& args, const method_options& options) {
  if (method.class_name != actor.class_name)
    throw argument_type_error("method '" + method.name + "' belongs to "
                              + method.class_name + ", not to actor '" + actor.name
                              + "' of class " + actor.class_name);
  // The actor holds the resources; its methods need none of their own.
  return submit_call(method, std::move(args), call_name(actor.name, method), placement{},
                     options.generator_backpressure,
                     [&](task_record& t) { t.actor_id = actor.id; });
}

actor_ref_ptr lookup_actor(const std::string& name, const std::string& name_space,
                           std::string_view class_name) {
  auto& c = client::get();
  auto rec = ask<actor_record>(c.system(), control_store(c), 10s,
                               "the control store did not answer", lookup_atom::value, name,
                               name_space);
  if (!rec.id.valid())
    throw error(error_kind::no_such_actor, "no actor named '" + name + "' in namespace '"
                                             + name_space + "'");
  if (rec.class_name != class_name)
    throw argument_type_error("actor '" + name + "' is a " + rec.class_name + ", not a "
                              + std::string{class_name});
  auto lifetime = rec.detached ? nullptr : c.table().from_wire(rec.id, nullptr);
  return std::make_shared<const actor_ref>(
    actor_ref{rec.id, rec.class_name, name, std::move(lifetime)});
}

void kill_actor(const actor_ref& actor, const kill_options& options) {
  auto& c = client::get();
  caf::anon_send(control_store(c), kill_atom::value, actor.id, options.no_restart,
                 std::string{"killed by troupe::kill"});
  // Calls made from here after kill() fail, whatever the race with the kill
  // (unless it may be rebuilt: then they wait for the new instance).
  if (options.no_restart)
    caf::anon_send(c.core(), kill_atom::value, actor.id, actor.name);
}

void cancel_object(const object_id& id, const cancel_options& options) {
  auto& c = client::get();
  auto refused = ask<std::string>(c.system(), c.core(), 10s, "the core did not answer",
                                  cancel_atom::value, id, options.force, options.recursive);
  if (!refused.empty())
    throw error(error_kind::runtime, "cannot cancel " + id.to_string() + ": " + refused);
}

void throw_unregistered_method(std::string_view class_name) {
  throw unknown_function_error("a method of " + std::string{class_name}
                               + " is not registered: add TROUPE_REMOTE(&"
                               + std::string{class_name} + "::method)");
}

} // namespace troupe::detail
