#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/codec.hpp"
#include "troupe/detail/calls.hpp"
#include "troupe/detail/registry.hpp"
#include "troupe/errors.hpp"
#include "troupe/object_ref.hpp"
#include "troupe/scheduling.hpp"

namespace troupe {

/// Which exceptions thrown by a task run it again (`task_options::
/// retry_exceptions`): none (`false`, the default), any (`true`), or those
/// whose demangled type is in a list, e.g. `{"std::runtime_error"}`. Only
/// the exact type is matched, not its bases: C++ exceptions cross
/// processes by name. Each retry counts against `max_retries`.
class retry_exceptions_policy {
public:
  retry_exceptions_policy(bool all = false) : all_(all) {} // NOLINT: `= true`
  retry_exceptions_policy(std::initializer_list<std::string> types) : types_(types) {}
  retry_exceptions_policy(std::vector<std::string> types) : types_(std::move(types)) {}

  /// Returns whether an exception of `type` is retried.
  [[nodiscard]] bool retries(std::string_view type) const {
    if (all_)
      return true;
    for (auto& t : types_)
      if (t == type)
        return true;
    return false;
  }
  /// Returns whether no exception is retried.
  [[nodiscard]] bool none() const noexcept { return !all_ && types_.empty(); }

private:
  bool all_ = false;
  std::vector<std::string> types_;
};

/// Per-call options of a task.
///
/// Its fields that say where the task runs (`num_cpus`, `num_gpus`,
/// `memory`, `resources`, `strategy`) are also `actor_options`' fields.
/// The two are separate aggregates, not one base with two
/// derived structs, so that designated initializers keep working:
/// `task_options{.num_cpus = 0, .name = "x"}` cannot name a base's members.
/// The core reads both kinds of placement in one place and checks at compile
/// time that the fields stay the same.
struct task_options {
  /// CPUs the task holds while it runs (fractions allowed; 0 for none).
  double num_cpus = 1;
  /// GPUs the task holds while it runs.
  double num_gpus = 0;
  /// Bytes of memory the task needs (for placement only: nothing enforces it).
  double memory = 0;
  /// Custom resources, e.g. `{{"accelerator", 0.5}}`.
  std::map<std::string, double> resources;
  /// The name in listings and errors (default: the function's name).
  std::string name;
  /// Where it may run (default: near its submitter and its arguments).
  scheduling_strategy strategy;
  /// A streaming generator: the most items it runs ahead of its consumer
  /// (produced, not yet consumed); 0 for no limit (Ray's default).
  std::uint32_t generator_backpressure = 0;
  /// How often the task runs again after a system failure: its worker
  /// crashed or was killed, or its node died (then it runs on another
  /// node). -1: without limit. Streaming generators are not run again.
  int max_retries = 3;
  /// Which of its own exceptions run it again, counted against
  /// `max_retries` (default: none).
  retry_exceptions_policy retry_exceptions;
};

namespace detail {

/// One argument of a submitted task: a value, or a ref to wait for.
struct task_arg {
  encoded_value value;
  ref_ptr ref;
};

/// Queues a task for execution; returns the refs of its results (one per
/// element of a returned tuple) or the stream of a generator.
submission submit_task(const function_entry& fn, std::vector<task_arg>&& args,
                       const task_options& options);

[[noreturn]] void throw_unregistered(const void* fn);
[[noreturn]] void throw_unknown_function(std::string_view name);
void check_dynamic_call(const function_entry& fn, const std::vector<type_ref>& args,
                        const type_ref& result);

template <class P, class A>
void add_arg(std::vector<task_arg>& out, A&& arg) {
  using param = stored_t<P>;
  using given = std::decay_t<A>;
  if constexpr (is_object_ref<given>::value && is_object_ref<param>::value) {
    // A parameter that is a ref gets the ref itself (to await or pass on),
    // not its value.
    static_assert(std::is_same_v<given, param>,
                  "troupe: a ref argument holds a different type than the "
                  "function's ref parameter");
    out.push_back({encode_owned(arg), nullptr});
  } else if constexpr (is_object_ref<given>::value) {
    using held = stored_t<typename is_object_ref<given>::held>;
    static_assert(codec<held>::type_hash == codec<param>::type_hash,
                  "troupe: a ref argument holds a different type than the "
                  "function's parameter");
    out.push_back({{}, arg.handle()});
  } else if constexpr (std::is_same_v<given, param>) {
    out.push_back({encode(arg), nullptr});
  } else {
    static_assert(std::is_convertible_v<A&&, param>,
                  "troupe: an argument does not convert to the function's "
                  "parameter type");
    // The converted value is a temporary: the encoding must own its bytes
    // before the temporary dies at the end of this statement.
    out.push_back({encode_owned(param(std::forward<A>(arg))), nullptr});
  }
}

template <class A>
type_ref arg_type() {
  using given = std::decay_t<A>;
  if constexpr (is_object_ref<given>::value)
    return type_of<typename is_object_ref<given>::held>();
  else
    return type_of<given>();
}

} // namespace detail

/// A registered function, ready to be called remotely.
template <class F>
class remote_function;

template <class R, class... Ps>
class remote_function<R (*)(Ps...)> {
public:
  remote_function(const detail::function_entry& fn, const task_options& options)
    : fn_(&fn), options_(options) {
  }

  /// Returns a copy with other options.
  [[nodiscard]] remote_function options(const task_options& options) const {
    return {*fn_, options};
  }

  /// Submits a call and returns the ref of its result at once. Arguments are
  /// values (converted to the parameter types) or refs whose values the task
  /// receives when they are ready. A function returning `std::tuple<A, B>`
  /// gives `std::tuple<object_ref<A>, object_ref<B>>`, one object per
  /// element; one returning `generator<T>` gives an `object_ref_stream<T>`;
  /// `async<T>` gives `object_ref<T>`.
  template <class... As>
  typename detail::call_shape<R, false>::type remote(As&&... args) const {
    static_assert(sizeof...(As) == sizeof...(Ps),
                  "troupe: wrong number of arguments for this function");
    std::vector<detail::task_arg> v;
    v.reserve(sizeof...(As));
    (detail::add_arg<Ps>(v, std::forward<As>(args)), ...);
    return detail::call_shape<R, false>::make(
      detail::submit_task(*fn_, std::move(v), options_));
  }

private:
  const detail::function_entry* fn_;
  task_options options_;
};

/// A function called by its registered name; arguments are checked against
/// its parameters at submission.
template <class R>
class named_function {
public:
  named_function(const detail::function_entry& fn, const task_options& options)
    : fn_(&fn), options_(options) {
  }

  /// Returns a copy with other options.
  [[nodiscard]] named_function options(const task_options& options) const {
    return {*fn_, options};
  }

  /// Submits a call; throws `argument_type_error` if the arguments or `R` do
  /// not match the registered function. `R` is what `remote()` of the
  /// function would give refs of: `std::tuple<A, B>` for a tuple,
  /// `generator<T>` for a stream.
  template <class... As>
  typename detail::call_shape<R, false>::type remote(As&&... args) const {
    using shape = detail::call_shape<R, false>;
    detail::check_dynamic_call(*fn_, {detail::arg_type<As>()...},
                               detail::type_of<typename shape::value_type>());
    std::vector<detail::task_arg> v;
    v.reserve(sizeof...(As));
    (push(v, std::forward<As>(args)), ...);
    return shape::make(detail::submit_task(*fn_, std::move(v), options_));
  }

private:
  template <class A>
  static void push(std::vector<detail::task_arg>& v, A&& arg) {
    if constexpr (detail::is_object_ref<std::decay_t<A>>::value)
      v.push_back({{}, arg.handle()});
    else
      v.push_back({detail::encode(arg), nullptr});
  }

  const detail::function_entry* fn_;
  task_options options_;
};

// Overloads, not default arguments: GCC 12 destroys an aggregate temporary
// (such as a defaulted `task_options{}`) of a `co_await` expression twice, and
// `co_await troupe::task(f).remote(x)` is how a coroutine calls a task.

/// Returns the registered function `fn` for remote calls with `options`.
/// Throws `unknown_function_error` if `fn` was not registered with
/// `TROUPE_REMOTE`.
template <class R, class... Ps>
remote_function<R (*)(Ps...)> task(R (*fn)(Ps...), const task_options& options) {
  auto* e = detail::find_function(reinterpret_cast<const void*>(fn));
  if (!e)
    detail::throw_unregistered(reinterpret_cast<const void*>(fn));
  return {*e, options};
}

/// Returns the registered function `fn` for remote calls with default options.
template <class R, class... Ps>
remote_function<R (*)(Ps...)> task(R (*fn)(Ps...)) {
  return task(fn, task_options{});
}

/// Returns the function registered under `name`, returning `R`, with
/// `options`. Throws `unknown_function_error` if no function has that name.
template <class R>
named_function<R> task(std::string_view name, const task_options& options) {
  auto* e = detail::find_function(name);
  if (!e)
    detail::throw_unknown_function(name);
  return {*e, options};
}

/// Returns the function registered under `name`, with default options.
template <class R>
named_function<R> task(std::string_view name) {
  return task<R>(name, task_options{});
}

/// Selects one overload of a function: `troupe::overload<int(int, int)>(add)`.
template <class Sig>
constexpr Sig* overload(Sig* fn) noexcept {
  return fn;
}

} // namespace troupe

#define TROUPE_PP_CAT_I(a, b) a##b
#define TROUPE_PP_CAT(a, b) TROUPE_PP_CAT_I(a, b)

/// Registers function `fn` under the name `name` (use for overloads:
/// `TROUPE_REMOTE_AS("add_ints", troupe::overload<int(int, int)>(add))`).
#define TROUPE_REMOTE_AS(name, fn)                                             \
  [[maybe_unused]] static const bool TROUPE_PP_CAT(troupe_registered_,        \
                                                   __COUNTER__)                \
    = ::troupe::detail::register_remote(name, fn)

/// Registers function `fn` under its own name, at namespace scope; also an
/// actor factory (returning `std::unique_ptr<C>`) or an actor method
/// (`TROUPE_REMOTE(&counter::add)`, registered as `counter::add`).
#define TROUPE_REMOTE(fn) TROUPE_REMOTE_AS(#fn, fn)
