#include "lib/core/task_name.hpp"

#include <array>
#include <functional>

#include "troupe/detail/registry.hpp"

namespace troupe::detail {

task_name::task_name(std::string s)
  : text_(s.empty() ? nullptr : std::make_shared<const std::string>(std::move(s))) {
}

const std::string& task_name::str() const noexcept {
  static const std::string none;
  return text_ ? *text_ : none;
}

namespace {

/// A direct-mapped cache of names by (prefix, function): per thread, so it
/// takes no lock, and of fixed size, so a program that names a million
/// actors apart keeps no more than its slots.
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
  return cache().get(prefix, &fn, [&] {
    if (prefix.empty())
      return task_name{fn.name};
    std::string s;
    s.reserve(prefix.size() + 2 + fn.name.size());
    s.append(prefix).append(": ").append(fn.name);
    return task_name{std::move(s)};
  });
}

task_name shared_name(const std::string& name) {
  return cache().get(name, nullptr, [&] { return task_name{name}; });
}

} // namespace troupe::detail
