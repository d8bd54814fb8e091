#include "lib/core/task_name.hpp"

#include <array>
#include <functional>
#include <mutex>
#include <unordered_set>

#include "troupe/detail/registry.hpp"

namespace troupe::detail {

task_name::task_name(std::string s)
  : owned_(s.empty() ? nullptr : std::make_shared<const std::string>(std::move(s))) {
}

const std::string& task_name::str() const noexcept {
  static const std::string none;
  return fixed_ ? *fixed_ : owned_ ? *owned_ : none;
}

namespace {

/// The names kept for the process: a node set, so each keeps its address.
/// Bounded: a program naming a million actors apart interns the first
/// `max_interned_names`, and owns the rest call by call.
class interned_names {
public:
  task_name get(std::string s) {
    std::lock_guard guard{mtx_};
    if (auto it = names_.find(s); it != names_.end())
      return task_name::fixed(*it);
    if (names_.size() >= max_interned_names)
      return task_name{std::move(s)};
    return task_name::fixed(*names_.insert(std::move(s)).first);
  }

private:
  std::mutex mtx_;
  std::unordered_set<std::string> names_;
};

interned_names& interned() {
  static auto* names = new interned_names; // never destroyed: names outlive statics
  return *names;
}

/// A direct-mapped cache of names by (prefix, function), per thread: a name
/// asked for again costs a hash and a compare, no lock.
struct name_cache {
  struct slot {
    std::string prefix;
    const function_entry* fn = nullptr;
    task_name name;
    bool used = false;
  };
  std::array<slot, 64> slots;

  template <class Make>
  task_name get(std::string_view prefix, const function_entry* fn, Make make) {
    auto h = std::hash<std::string_view>{}(prefix) ^ (reinterpret_cast<std::uintptr_t>(fn) >> 4);
    auto& s = slots[h % slots.size()];
    if (!s.used || s.fn != fn || s.prefix != prefix) {
      s.prefix.assign(prefix);
      s.fn = fn;
      s.name = make();
      s.used = true;
    }
    return s.name;
  }
};

name_cache& cache() {
  thread_local name_cache c;
  return c;
}

} // namespace

task_name call_name(std::string_view prefix, const function_entry& fn) {
  if (prefix.empty())
    return task_name::fixed(fn.name); // registered functions live as long as the process
  return cache().get(prefix, &fn, [&] {
    std::string s;
    s.reserve(prefix.size() + 2 + fn.name.size());
    s.append(prefix).append(": ").append(fn.name);
    return interned().get(std::move(s));
  });
}

task_name shared_name(const std::string& name) {
  return cache().get(name, nullptr, [&] { return interned().get(name); });
}

} // namespace troupe::detail
