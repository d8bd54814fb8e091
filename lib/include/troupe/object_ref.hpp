#pragma once

#include <memory>
#include <string>
#include <type_traits>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/save_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "troupe/object_id.hpp"

namespace troupe {

namespace detail {

/// One process's hold on an object; shared by all copies of an `object_ref`
/// in that process. Its destruction tells the process's object table that
/// this process no longer needs the object.
class ref_handle;
using ref_ptr = std::shared_ptr<ref_handle>;

/// Returns the object's id.
object_id ref_id(const ref_handle& h) noexcept;
/// Called when a ref is serialized into a value or message. Inside an
/// encoding (`encoded_value::nested`) the ref is held with the bytes;
/// elsewhere the owner keeps the object for as long as it lives, because a
/// copy may be anywhere now.
void ref_escaped(const ref_ptr& h);
/// Returns this process's handle for a ref received from elsewhere (its
/// owner is found through the control store, by `id.owner`).
ref_ptr ref_from_wire(const object_id& id);

} // namespace detail

/// A future for a value in the cluster: the result of `task(f).remote(...)`
/// or of `put(v)`. Cheap to copy; pass it to `get`, `wait`, or as an argument
/// of other tasks, which then run once the value is ready. Refs can be stored
/// inside values and sent to other processes.
template <class T>
class object_ref {
public:
  using value_type = T;

  object_ref() = default;

  explicit object_ref(detail::ref_ptr handle) : handle_(std::move(handle)) {}

  /// Returns the object's cluster-wide id (the default id for an empty ref).
  [[nodiscard]] object_id id() const noexcept {
    return handle_ ? detail::ref_id(*handle_) : object_id{};
  }

  /// Returns whether the ref names an object.
  [[nodiscard]] bool valid() const noexcept { return handle_ != nullptr; }

  /// Returns the process-local handle (internal).
  [[nodiscard]] const detail::ref_ptr& handle() const noexcept { return handle_; }

  friend bool operator==(const object_ref& a, const object_ref& b) noexcept {
    return a.id() == b.id();
  }

  // Only the id travels: actor handles inside our own bytes could not be
  // read back outside CAF's transport.
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, object_ref& x) {
    object_id id;
    if constexpr (Inspector::reads_state) {
      if (x.handle_) {
        id = detail::ref_id(*x.handle_);
        detail::ref_escaped(x.handle_);
      }
    }
    return f(caf::meta::type_name("troupe.object_ref"), id.owner, id.seq,
             caf::meta::load_callback([&]() -> caf::error {
               x.handle_ = id.valid() ? detail::ref_from_wire(id) : nullptr;
               return caf::none;
             }));
  }

private:
  detail::ref_ptr handle_;
};

namespace detail {

template <class T>
struct is_object_ref : std::false_type {};
template <class T>
struct is_object_ref<object_ref<T>> : std::true_type {
  using held = T;
};

} // namespace detail

} // namespace troupe
