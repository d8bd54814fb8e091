#pragma once

// Actors: a class whose instance lives in a worker process of its own, and
// whose methods run one at a time in the order each caller sent them.
//
//     class counter { public: int add(int by); int value() const; ... };
//     std::unique_ptr<counter> make_counter(int start);
//     TROUPE_REMOTE(make_counter);        // the factory
//     TROUPE_REMOTE(&counter::add);       // each method
//     TROUPE_REMOTE(&counter::value);
//
//     auto c = troupe::actor(make_counter).remote(10);
//     auto r = c.task(&counter::add).remote(5);   // object_ref<int>
//     troupe::get(r);                              // 15
//
// A class with a method returning `troupe::async<T>` (a coroutine) is an
// *async actor*: all its calls run on its one thread, many in flight,
// interleaved at their `co_await`s (troupe/async.hpp).
//
// With `isolation = actor_isolation::shared` an actor is *light*: a CAF
// actor among many (up to hundreds of thousands) in an actor-host worker
// process of its job, holding no thread while it has no call to run.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "troupe/detail/registry.hpp"
#include "troupe/errors.hpp"
#include "troupe/object_ref.hpp"
#include "troupe/task.hpp"

namespace troupe {

/// Where an actor runs.
enum class actor_isolation : std::uint8_t {
  /// The job's default: `process`, unless the environment variable
  /// TROUPE_ACTOR_ISOLATION says `shared`.
  default_,
  /// A worker process of its own, as a Ray actor: a crash of the actor's
  /// process takes nothing else down. About 1.5 MB and one thread per
  /// actor.
  process,
  /// A light actor: a CAF actor in a shared actor-host worker of its job
  /// (about one host per CPU of each node, chosen by the node's scheduler).
  /// Its calls run on the host's thread pool; idle, it holds no thread and
  /// a few hundred bytes beyond its own state. A method that throws fails
  /// that call only, as for any actor; one that crashes its process (abort,
  /// segfault) takes the host's other actors down with it, and each
  /// restarts as its `max_restarts` allow. A running method cannot be
  /// interrupted: `kill` fails the actor's calls at once, and a method that
  /// was running ends on its thread, its result dropped.
  shared,
};

/// Options of an actor, fixed at creation. The placement fields (`num_cpus`
/// to `resources`, and `strategy`) are those of `task_options`, which says
/// why the two are separate aggregates.
struct actor_options {
  /// CPUs the actor holds for its whole life (default 0, as in Ray).
  double num_cpus = 0;
  /// GPUs the actor holds for its whole life.
  double num_gpus = 0;
  /// Bytes of memory the actor holds for its whole life (placement only).
  double memory = 0;
  /// Custom resources the actor holds for its whole life.
  std::map<std::string, double> resources;
  /// A cluster-wide name: `get_actor<C>(name)` finds it from any driver.
  std::string name;
  /// The namespace of `name`.
  std::string name_space;
  /// How many calls may run at once. A plain class runs them on that many
  /// threads (1: one at a time, so the class needs no locks). An async actor
  /// runs them all on its one thread and this bounds how many are in flight
  /// (started, not finished); more wait their turn. 0, the default: 1 for a
  /// plain class, 1000 for an async actor (as Ray).
  std::uint32_t max_concurrency = 0;
  /// A detached actor outlives the driver that created it, until killed.
  bool detached = false;
  /// Where it is placed (default: near its creator).
  scheduling_strategy strategy;
  /// How often the actor is rebuilt after its process crashed or was
  /// killed, or its node died (-1: without limit): its factory runs again
  /// with the same arguments on another worker (another node if its node
  /// died), under the same id, name and handles. Its state is what the
  /// factory builds: keep what must survive elsewhere (the object store, a
  /// file). Its creator rebuilds it: an actor whose creator is gone stays
  /// dead.
  int max_restarts = 0;
  /// How often a method call lost with a crashed instance (in flight, or
  /// queued) is sent again to the rebuilt one (-1: without limit); with 0 it
  /// fails with `actor_died_error`, whose reason says it is restarting.
  /// Calls made while it restarts wait for it either way.
  int max_task_retries = 0;
  /// A process of its own, or a light actor in a shared host (see above).
  actor_isolation isolation = actor_isolation::default_;
};

/// Options of `kill`.
struct kill_options {
  /// Kill it for good (true, as Ray), or let `max_restarts` rebuild it.
  bool no_restart = true;
};

/// Per-call options of an actor method.
struct method_options {
  /// A streaming generator method: the most items it runs ahead of its
  /// consumer (produced, not yet consumed); 0 for no limit (Ray's default).
  std::uint32_t generator_backpressure = 0;
};

namespace detail {

/// What identifies an actor in any process.
struct actor_ref {
  object_id id;
  std::string class_name;
  std::string name; ///< the `name` option, or the class
  /// This process's hold on a non-detached actor (the object `id`, owned by
  /// its creator): when no process holds one, the actor ends.
  ref_ptr lifetime;
};
using actor_ref_ptr = std::shared_ptr<const actor_ref>;

actor_ref_ptr create_actor(const function_entry& factory, std::vector<task_arg>&& args,
                           const actor_options& options);
submission submit_method(const actor_ref& actor, const function_entry& method,
                         std::vector<task_arg>&& args, const method_options& options);
actor_ref_ptr lookup_actor(const std::string& name, const std::string& name_space,
                           std::string_view class_name);
void kill_actor(const actor_ref& actor, const kill_options& options);
[[noreturn]] void throw_unregistered_method(std::string_view class_name);

} // namespace detail

/// A method of an actor, ready to be called.
template <class R, class... Ps>
class actor_method {
public:
  actor_method(detail::actor_ref_ptr actor, const detail::function_entry& method)
    : actor_(std::move(actor)), method_(&method) {
  }

  /// Returns a copy with other per-call options.
  [[nodiscard]] actor_method options(const method_options& options) const {
    auto copy = *this;
    copy.options_ = options;
    return copy;
  }

  /// Sends the call and returns the ref of its result at once. Calls from
  /// one caller start in the order they were sent. A method returning
  /// `object_ref<X>` (an async method) or `async<X>` gives a ref to the `X`;
  /// `std::tuple<A, B>` gives a tuple of refs; `generator<T>` gives an
  /// `object_ref_stream<T>`.
  template <class... As>
  typename detail::call_shape<R, true>::type remote(As&&... args) const {
    static_assert(sizeof...(As) == sizeof...(Ps),
                  "troupe: wrong number of arguments for this method");
    std::vector<detail::task_arg> v;
    v.reserve(sizeof...(As));
    (detail::add_arg<Ps>(v, std::forward<As>(args)), ...);
    return detail::call_shape<R, true>::make(
      detail::submit_method(*actor_, *method_, std::move(v), options_));
  }

private:
  detail::actor_ref_ptr actor_;
  const detail::function_entry* method_;
  method_options options_;
};

/// A handle to an actor of class `C`. Handles are values: copy them, pass
/// them to tasks and other actors, store them in objects; every holder can
/// call the actor.
template <class C>
class actor_handle {
public:
  actor_handle() = default;

  explicit actor_handle(detail::actor_ref_ptr ref) : ref_(std::move(ref)) {}

  /// Returns the method `m` of this actor for a remote call. Throws
  /// `unknown_function_error` if `m` was not registered.
  template <class R, class... Ps>
  actor_method<R, Ps...> task(R (C::*m)(Ps...)) const {
    return {ref_, lookup(detail::bytes_of(m))};
  }

  /// Returns the const method `m` of this actor for a remote call.
  template <class R, class... Ps>
  actor_method<R, Ps...> task(R (C::*m)(Ps...) const) const {
    return {ref_, lookup(detail::bytes_of(m))};
  }

  /// Returns the actor's cluster-wide id.
  [[nodiscard]] object_id id() const noexcept { return ref_ ? ref_->id : object_id{}; }

  /// Returns the actor's name (its `name` option, or its class).
  [[nodiscard]] const std::string& name() const { return ref_->name; }

  /// Returns whether the handle names an actor.
  [[nodiscard]] bool valid() const noexcept { return ref_ != nullptr; }

  /// Returns the process-independent description (internal).
  [[nodiscard]] const detail::actor_ref_ptr& ref() const noexcept { return ref_; }

  friend bool operator==(const actor_handle& a, const actor_handle& b) noexcept {
    return a.id() == b.id();
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, actor_handle& x) {
    detail::actor_ref r;
    bool counted = false; // a detached actor's handles are not counted
    if constexpr (Inspector::reads_state) {
      if (x.ref_) {
        r = *x.ref_;
        counted = r.lifetime != nullptr;
        if (counted)
          detail::ref_escaped(r.lifetime);
      }
    }
    return f(caf::meta::type_name("troupe.actor_handle"), r.id.owner, r.id.seq,
             r.class_name, r.name, counted,
             caf::meta::load_callback([&]() -> caf::error {
               if (r.id.valid() && counted)
                 r.lifetime = detail::ref_from_wire(r.id);
               x.ref_ = r.id.valid() ? std::make_shared<const detail::actor_ref>(r)
                                     : nullptr;
               return caf::none;
             }));
  }

private:
  static const detail::function_entry& lookup(const detail::method_bytes& m) {
    auto* e = detail::find_method(m);
    if (!e)
      detail::throw_unregistered_method(detail::type_name<C>());
    return *e;
  }

  detail::actor_ref_ptr ref_;
};

/// An actor factory, ready to create actors.
template <class C, class... Ps>
class actor_factory {
public:
  actor_factory(const detail::function_entry& factory, const actor_options& options)
    : factory_(&factory), options_(options) {
  }

  /// Creates the actor and returns its handle at once; calls sent before the
  /// actor is up wait for it. Throws `error` (name_taken) if another actor
  /// has the name. If the constructor throws, calls fail with
  /// `actor_died_error` carrying that cause.
  template <class... As>
  actor_handle<C> remote(As&&... args) const {
    static_assert(sizeof...(As) == sizeof...(Ps),
                  "troupe: wrong number of arguments for this factory");
    std::vector<detail::task_arg> v;
    v.reserve(sizeof...(As));
    (detail::add_arg<Ps>(v, std::forward<As>(args)), ...);
    return actor_handle<C>{detail::create_actor(*factory_, std::move(v), options_)};
  }

private:
  const detail::function_entry* factory_;
  actor_options options_;
};

/// Returns the registered actor factory `factory` (a function returning
/// `std::unique_ptr<C>`) for creating actors with `options`. (Overloads, not
/// a default argument: see `task`.)
template <class C, class... Ps>
actor_factory<C, Ps...> actor(std::unique_ptr<C> (*factory)(Ps...),
                              const actor_options& options) {
  auto* e = detail::find_function(reinterpret_cast<const void*>(factory));
  if (!e)
    detail::throw_unregistered(reinterpret_cast<const void*>(factory));
  return {*e, options};
}

/// Returns the registered actor factory `factory`, with default options.
template <class C, class... Ps>
actor_factory<C, Ps...> actor(std::unique_ptr<C> (*factory)(Ps...)) {
  return actor(factory, actor_options{});
}

/// Returns the handle of the actor named `name` (in `name_space`), created by
/// any driver of the cluster. Throws `error` (no_such_actor) if there is none,
/// or `argument_type_error` if it is not of class `C`.
template <class C>
actor_handle<C> get_actor(const std::string& name, const std::string& name_space = "") {
  return actor_handle<C>{detail::lookup_actor(name, name_space, detail::type_name<C>())};
}

/// Kills the actor's process: its pending and later calls fail with
/// `actor_died_error`. With `{.no_restart = false}` its `max_restarts` may
/// rebuild it, as after a crash.
template <class C>
void kill(const actor_handle<C>& actor, const kill_options& options = {}) {
  detail::kill_actor(*actor.ref(), options);
}

/// Called inside an actor's method: the actor ends once the method returns;
/// later calls fail with `actor_died_error`. It is not restarted.
void exit_actor();

/// Returns whether the actor whose factory or method calls this is a rebuilt
/// instance (`actor_options::max_restarts`), not its first: its factory can
/// then recover state it kept elsewhere. False outside actors.
bool was_current_actor_restarted();

} // namespace troupe
