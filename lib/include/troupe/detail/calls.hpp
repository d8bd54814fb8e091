#pragma once

// The shapes of what a remote call returns, on both sides: how a worker
// encodes a function's or method's result (one value, the elements of a
// tuple, a forwarded ref, a coroutine to run), and what the caller's
// `remote()` gives back for it (a ref, a tuple of refs, a stream).

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/async.hpp"
#include "troupe/codec.hpp"
#include "troupe/object_ref.hpp"
#include "troupe/stream.hpp"

namespace troupe::detail {

class coroutine_call;

/// What one call produced in the worker.
struct call_output {
  encoded_value value;                       ///< the result, or a tuple's first element
  std::vector<encoded_value> extra;          ///< a tuple's elements 2..N
  ref_ptr forward;                           ///< a method's returned ref (async method)
  std::unique_ptr<coroutine_call> coroutine; ///< an `async<T>` or generator to run
};

template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};

/// Encodes `x` into `out`, owning its bytes (the value dies with the call).
template <class T>
void encode_into(const T& x, encoded_value& out) {
  codec<stored_t<T>>::encode(x, out);
  out.own();
}

template <class Tuple, std::size_t... Is>
void store_tuple(const Tuple& t, call_output& out, std::index_sequence<Is...>) {
  out.extra.resize(sizeof...(Is) - 1);
  ((Is == 0 ? encode_into(std::get<Is>(t), out.value)
            : encode_into(std::get<Is>(t), out.extra[Is == 0 ? 0 : Is - 1])),
   ...);
}

/// Stores a finished call's result: a tuple as one value per element, a
/// method's ref (`forward_refs`) as the object whose value its caller gets.
template <class R, bool forward_refs>
void store_result(R&& r, call_output& out) {
  using V = std::decay_t<R>;
  if constexpr (forward_refs && is_object_ref<V>::value) {
    out.forward = r.handle();
    codec<unit_value>::encode(unit_value{}, out.value);
  } else if constexpr (is_tuple<V>::value) {
    static_assert(std::tuple_size_v<V> >= 1, "troupe: an empty tuple returns nothing");
    store_tuple(r, out, std::make_index_sequence<std::tuple_size_v<V>>{});
  } else {
    encode_into(r, out.value);
  }
}

/// A coroutine a call returned, for whoever runs it: a task's executor runs
/// it to its end (its `co_await`s wait), an async actor's host resumes it
/// whenever what it awaits is ready.
class coroutine_call {
public:
  virtual ~coroutine_call() = default;
  /// Returns the coroutine to start (it has not run yet).
  [[nodiscard]] virtual std::coroutine_handle<> handle() const noexcept = 0;
  /// Returns whether it is a streaming generator.
  [[nodiscard]] virtual bool streams() const noexcept = 0;
  /// A generator: moves the item it yielded last into `out`; returns false
  /// if it yielded none since.
  virtual bool take_item(encoded_value& out) = 0;
  /// Stores the result of the finished coroutine into `out`; rethrows what
  /// its body threw.
  virtual void take_result(call_output& out) = 0;
};

template <class T, bool forward_refs>
class async_call final : public coroutine_call {
public:
  explicit async_call(async<T>&& co)
      : co_(std::move(co)) {}
  std::coroutine_handle<> handle() const noexcept override { return co_.handle(); }
  bool streams() const noexcept override { return false; }
  bool take_item(encoded_value&) override { return false; }
  void take_result(call_output& out) override {
    if constexpr (std::is_void_v<T>) {
      co_.take();
      codec<unit_value>::encode(unit_value{}, out.value);
    } else {
      store_result<T, forward_refs>(co_.take(), out);
    }
  }

private:
  async<T> co_;
};

template <class T>
class generator_call final : public coroutine_call {
public:
  explicit generator_call(generator<T>&& g)
      : g_(std::move(g)) {}
  std::coroutine_handle<> handle() const noexcept override { return g_.handle(); }
  bool streams() const noexcept override { return true; }
  bool take_item(encoded_value& out) override {
    if (!g_.has_item())
      return false;
    encode_into(g_.take_item(), out);
    return true;
  }
  void take_result(call_output& out) override {
    g_.rethrow_if_failed();
    codec<unit_value>::encode(unit_value{}, out.value);
  }

private:
  generator<T> g_;
};

/// Runs `call` (a function or method applied to decoded arguments) and
/// stores what it returns into `out`: a coroutine is handed over unstarted.
template <class R, bool forward_refs, class Call>
void run_call(Call&& call, call_output& out) {
  if constexpr (std::is_void_v<R>) {
    call();
    codec<unit_value>::encode(unit_value{}, out.value);
  } else if constexpr (is_async<R>::value) {
    out.coroutine =
        std::make_unique<async_call<typename is_async<R>::value_type, forward_refs>>(
            call());
  } else if constexpr (is_generator<R>::value) {
    out.coroutine =
        std::make_unique<generator_call<typename is_generator<R>::value_type>>(call());
  } else {
    store_result<R, forward_refs>(call(), out);
  }
}

/// Whether a function returning `R` is a coroutine: its parameters must then
/// be values, which its frame keeps.
template <class R>
inline constexpr bool is_coroutine_v = is_async<R>::value || is_generator<R>::value;

template <class R, class... Ps>
constexpr bool coroutine_params_ok() {
  return !is_coroutine_v<R> || (!std::is_reference_v<Ps> && ...);
}

/// What `remote()` submitted: the ref of the result (the first element of a
/// tuple), the refs of a tuple's other elements, or the stream of a generator.
struct submission {
  ref_ptr ref;
  std::vector<ref_ptr> extra;
  stream_ptr stream;
};

/// What `remote()` returns for a function or method returning `R`, and how
/// many objects the call makes. `method`: a returned ref is forwarded.
template <class R, bool method>
struct call_shape {
  using type = object_ref<R>;
  using value_type = R;
  static constexpr std::uint32_t num_returns = 1;
  static constexpr bool streams = false;
  static type make(submission&& s) { return type{std::move(s.ref)}; }
};

/// A method's returned ref is forwarded: one object, whatever `X` is.
template <class X>
struct call_shape<object_ref<X>, true> {
  using type = object_ref<X>;
  using value_type = X;
  static constexpr std::uint32_t num_returns = 1;
  static constexpr bool streams = false;
  static type make(submission&& s) { return type{std::move(s.ref)}; }
};

template <class T, bool method>
struct call_shape<async<T>, method> : call_shape<T, method> {};

template <class... Ts, bool method>
struct call_shape<std::tuple<Ts...>, method> {
  using type = std::tuple<object_ref<Ts>...>;
  using value_type = std::tuple<Ts...>;
  static constexpr std::uint32_t num_returns = sizeof...(Ts);
  static constexpr bool streams = false;
  static type make(submission&& s) { return make(s, std::index_sequence_for<Ts...>{}); }

private:
  template <std::size_t... Is>
  static type make(submission& s, std::index_sequence<Is...>) {
    return type{object_ref<Ts>{Is == 0 ? s.ref : s.extra[Is == 0 ? 0 : Is - 1]}...};
  }
};

template <class T, bool method>
struct call_shape<generator<T>, method> {
  using type = object_ref_stream<T>;
  using value_type = generator<T>;
  static constexpr std::uint32_t num_returns = 1;
  static constexpr bool streams = true;
  static type make(submission&& s) { return type{std::move(s.stream)}; }
};

} // namespace troupe::detail
