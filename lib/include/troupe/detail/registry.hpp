#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/codec.hpp"

namespace troupe::detail {

/// The stored type of one parameter or result.
struct type_ref {
  std::uint64_t hash = 0;
  std::string_view name;
};

/// Calls a registered function on stored arguments and encodes its result.
using invoker = void (*)(const void* fn, const raw_value* args, std::size_t n,
                         encoded_value& result);

/// A function registered with `TROUPE_REMOTE`: what a worker needs to run it
/// and a submitter needs to check a call.
struct function_entry {
  std::string name;
  const void* fn = nullptr;
  invoker invoke = nullptr;
  std::vector<type_ref> params;
  type_ref result;
};

/// Registers `entry`; returns true. Registering a second function under a
/// taken name aborts at start-up with a message naming both.
bool register_function(function_entry entry);

/// Returns the function registered for pointer `fn`, or nullptr.
const function_entry* find_function(const void* fn) noexcept;

/// Returns the function registered under `name`, or nullptr.
const function_entry* find_function(std::string_view name) noexcept;

/// Returns all registered functions' names (for errors and listings).
std::vector<std::string> registered_function_names();

template <class T>
type_ref type_of() {
  using c = codec<stored_t<T>>;
  return {c::type_hash, c::name};
}

template <class R, class... Ps, std::size_t... Is>
void invoke_with(R (*f)(Ps...), const raw_value* args, encoded_value& out,
                 std::index_sequence<Is...>) {
  if constexpr (std::is_void_v<R>) {
    f(codec<stored_t<Ps>>::decode(args[Is])...);
    codec<unit_value>::encode(unit_value{}, out);
  } else {
    auto result = f(codec<stored_t<Ps>>::decode(args[Is])...);
    codec<stored_t<R>>::encode(result, out);
    out.own(); // the result dies with this frame
  }
}

template <class R, class... Ps>
void invoke_typed(const void* fn, const raw_value* args, std::size_t n,
                  encoded_value& out) {
  if (n != sizeof...(Ps))
    throw argument_type_error("expected " + std::to_string(sizeof...(Ps))
                              + " arguments, got " + std::to_string(n));
  auto f = reinterpret_cast<R (*)(Ps...)>(fn);
  invoke_with(f, args, out, std::index_sequence_for<Ps...>{});
}

template <class R, class... Ps>
bool register_remote(std::string name, R (*fn)(Ps...)) {
  function_entry e;
  e.name = std::move(name);
  e.fn = reinterpret_cast<const void*>(fn);
  e.invoke = &invoke_typed<R, Ps...>;
  e.params = {type_of<Ps>()...};
  e.result = type_of<R>();
  return register_function(std::move(e));
}

} // namespace troupe::detail
