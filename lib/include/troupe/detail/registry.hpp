#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/codec.hpp"
#include "troupe/detail/calls.hpp"
#include "troupe/object_ref.hpp"

namespace troupe::detail {

/// The stored type of one parameter or result.
struct type_ref {
  std::uint64_t hash = 0;
  std::string_view name;
};

/// Calls a registered function on stored arguments and stores its result.
using invoker = void (*)(const void* fn, const raw_value* args, std::size_t n,
                         call_output& result);

/// What a registered name stands for.
enum class entry_kind : std::uint8_t {
  function, ///< a task
  factory,  ///< makes an actor's instance
  method,   ///< runs on an actor's instance
};

/// Bytes of a pointer to member function (its identity, and how to call it).
using method_bytes = std::array<unsigned char, 2 * sizeof(void*)>;

struct function_entry;

/// Makes an actor instance from stored arguments.
using creator = std::shared_ptr<void> (*)(const function_entry& e,
                                          const raw_value* args, std::size_t n);
/// Calls a method on an instance with stored arguments.
using method_invoker = void (*)(const function_entry& e, void* instance,
                                const raw_value* args, std::size_t n,
                                call_output& result);

/// A function, factory or method registered with `TROUPE_REMOTE`: what a
/// worker needs to run it and a submitter needs to check a call.
struct function_entry {
  std::string name;
  const void* fn = nullptr;
  invoker invoke = nullptr;
  std::vector<type_ref> params;
  type_ref result;
  entry_kind kind = entry_kind::function;
  std::string class_name;          ///< factories and methods
  creator create = nullptr;        ///< factories
  method_invoker call = nullptr;   ///< methods
  method_bytes method{};           ///< methods
  /// Objects a call makes: the elements of a returned tuple, else 1.
  std::uint32_t num_returns = 1;
  bool streams = false;   ///< returns `generator<T>`: a stream of items
  bool coroutine = false; ///< returns `async<T>`: makes its class an async actor
};

/// Registers `entry`; returns true. Registering a second function under a
/// taken name aborts at start-up with a message naming both.
bool register_function(function_entry entry);

/// Returns the method registered for member pointer bytes `m`, or nullptr.
const function_entry* find_method(const method_bytes& m) noexcept;

template <class M>
method_bytes bytes_of(M m) noexcept {
  static_assert(sizeof(M) <= sizeof(method_bytes), "unexpected member pointer size");
  method_bytes out{};
  std::memcpy(out.data(), &m, sizeof(M));
  return out;
}

/// Returns the function registered for pointer `fn`, or nullptr.
const function_entry* find_function(const void* fn) noexcept;

/// Returns the function registered under `name`, or nullptr.
const function_entry* find_function(std::string_view name) noexcept;

/// Returns all registered functions' names (for errors and listings).
std::vector<std::string> registered_function_names();

/// Returns whether a method of class `class_name` returns `async<T>`: the
/// class's actors then run every call on one thread, many in flight.
bool class_is_async(std::string_view class_name) noexcept;

template <class T>
type_ref type_of() {
  using c = codec<stored_t<T>>;
  return {c::type_hash, c::name};
}

/// Fills the fields of `e` that follow from what it returns (`R`).
template <class R, bool method>
void describe_result(function_entry& e) {
  using shape = call_shape<R, method>;
  e.result = type_of<typename shape::value_type>();
  e.num_returns = shape::num_returns;
  e.streams = shape::streams;
  e.coroutine = is_async<R>::value;
}

template <class R, class... Ps, std::size_t... Is>
void invoke_with(R (*f)(Ps...), const raw_value* args, call_output& out,
                 std::index_sequence<Is...>) {
  run_call<R, false>([&] { return f(codec<stored_t<Ps>>::decode(args[Is])...); }, out);
}

template <class R, class... Ps>
void invoke_typed(const void* fn, const raw_value* args, std::size_t n,
                  call_output& out) {
  if (n != sizeof...(Ps))
    throw argument_type_error("expected " + std::to_string(sizeof...(Ps))
                              + " arguments, got " + std::to_string(n));
  auto f = reinterpret_cast<R (*)(Ps...)>(fn);
  invoke_with(f, args, out, std::index_sequence_for<Ps...>{});
}

template <class C, class... Ps, std::size_t... Is>
std::shared_ptr<void> create_with(std::unique_ptr<C> (*f)(Ps...), const raw_value* args,
                                  std::index_sequence<Is...>) {
  return std::shared_ptr<C>(f(codec<stored_t<Ps>>::decode(args[Is])...));
}

template <class C, class... Ps>
std::shared_ptr<void> create_typed(const function_entry& e, const raw_value* args,
                                   std::size_t n) {
  if (n != sizeof...(Ps))
    throw argument_type_error("expected " + std::to_string(sizeof...(Ps))
                              + " arguments, got " + std::to_string(n));
  auto f = reinterpret_cast<std::unique_ptr<C> (*)(Ps...)>(const_cast<void*>(e.fn));
  auto instance = create_with(f, args, std::index_sequence_for<Ps...>{});
  if (!instance)
    throw std::invalid_argument("the factory returned no instance");
  return instance;
}

template <class M, class C, class R, class... Ps, std::size_t... Is>
void call_with(M m, C* self, const raw_value* args, call_output& out,
               std::index_sequence<Is...>) {
  run_call<R, true>(
    [&] { return (self->*m)(codec<stored_t<Ps>>::decode(args[Is])...); }, out);
}

template <class M, class C, class R, class... Ps>
void call_typed(const function_entry& e, void* instance, const raw_value* args,
                std::size_t n, call_output& out) {
  if (n != sizeof...(Ps))
    throw argument_type_error("expected " + std::to_string(sizeof...(Ps))
                              + " arguments, got " + std::to_string(n));
  M m;
  std::memcpy(&m, e.method.data(), sizeof(M));
  call_with<M, C, R, Ps...>(m, static_cast<C*>(instance), args, out,
                            std::index_sequence_for<Ps...>{});
}

/// Returns `name` without a leading `&` (`&counter::add` -> `counter::add`).
inline std::string method_name(std::string_view name) {
  // A view, not a moved-from string: GCC warned of an uninitialized read.
  if (!name.empty() && name.front() == '&')
    name.remove_prefix(1);
  return std::string{name};
}

template <class C, class R, class M, class... Ps>
bool register_method(std::string name, M m) {
  static_assert(coroutine_params_ok<R, Ps...>(),
                "troupe: a coroutine method takes its parameters by value: a "
                "reference would dangle once the call suspends");
  function_entry e;
  e.name = method_name(name);
  e.kind = entry_kind::method;
  e.class_name = std::string{type_name<C>()};
  e.call = &call_typed<M, C, R, Ps...>;
  e.method = bytes_of(m);
  e.params = {type_of<Ps>()...};
  describe_result<R, true>(e);
  return register_function(std::move(e));
}

/// Registers an actor method.
template <class C, class R, class... Ps>
bool register_remote(std::string name, R (C::*m)(Ps...)) {
  return register_method<C, R, R (C::*)(Ps...), Ps...>(std::move(name), m);
}

/// Registers a const actor method.
template <class C, class R, class... Ps>
bool register_remote(std::string name, R (C::*m)(Ps...) const) {
  return register_method<C, R, R (C::*)(Ps...) const, Ps...>(std::move(name), m);
}

/// Registers an actor factory: a function returning `std::unique_ptr<C>`.
template <class C, class... Ps>
bool register_remote(std::string name, std::unique_ptr<C> (*fn)(Ps...)) {
  function_entry e;
  e.name = std::move(name);
  e.fn = reinterpret_cast<const void*>(fn);
  e.kind = entry_kind::factory;
  e.class_name = std::string{type_name<C>()};
  e.create = &create_typed<C, Ps...>;
  e.params = {type_of<Ps>()...};
  e.result = {codec<unit_value>::type_hash, "actor"};
  return register_function(std::move(e));
}

template <class R, class... Ps>
bool register_remote(std::string name, R (*fn)(Ps...)) {
  static_assert(coroutine_params_ok<R, Ps...>(),
                "troupe: a coroutine takes its parameters by value: a reference "
                "would dangle once it suspends");
  function_entry e;
  e.name = std::move(name);
  e.fn = reinterpret_cast<const void*>(fn);
  e.invoke = &invoke_typed<R, Ps...>;
  e.params = {type_of<Ps>()...};
  describe_result<R, false>(e);
  e.coroutine = false; // a task's coroutine runs to its end in its worker
  return register_function(std::move(e));
}

} // namespace troupe::detail
