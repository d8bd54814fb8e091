#include "troupe/detail/registry.hpp"

#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "troupe/task.hpp"

namespace troupe::detail {

namespace {

/// Hashes a member pointer's bytes: `task(&C::m)` looks its method up on
/// every call, which a tree of memcmps made cost more than the rest of it.
struct method_bytes_hash {
  std::size_t operator()(const method_bytes& m) const noexcept {
    static_assert(sizeof(method_bytes) == 2 * sizeof(std::uint64_t), "64-bit member pointers");
    std::uint64_t a, b;
    std::memcpy(&a, m.data(), sizeof a);
    std::memcpy(&b, m.data() + sizeof a, sizeof b);
    return std::hash<std::uint64_t>{}(a * 0x9E3779B97F4A7C15ULL ^ b);
  }
};

/// Filled by static initializers before `main`, read-only afterwards.
struct registry {
  std::map<std::string, std::unique_ptr<function_entry>, std::less<>> by_name;
  std::unordered_map<const void*, const function_entry*> by_fn;
  std::unordered_map<method_bytes, const function_entry*, method_bytes_hash> by_method;
  /// Classes with a method returning `async<T>`.
  std::set<std::string, std::less<>> async_classes;
};

registry& the_registry() {
  static registry r;
  return r;
}

} // namespace

bool register_function(function_entry entry) {
  auto& r = the_registry();
  if (r.by_name.count(entry.name) > 0) {
    std::fprintf(stderr,
                 "troupe: two functions are registered as '%s'; name overloads "
                 "with TROUPE_REMOTE_AS\n",
                 entry.name.c_str());
    std::abort();
  }
  auto e = std::make_unique<function_entry>(std::move(entry));
  if (e->kind == entry_kind::method)
    r.by_method.emplace(e->method, e.get());
  if (e->kind == entry_kind::method && e->coroutine)
    r.async_classes.insert(e->class_name);
  else
    r.by_fn.emplace(e->fn, e.get());
  r.by_name.emplace(e->name, std::move(e));
  return true;
}

const function_entry* find_function(const void* fn) noexcept {
  auto& r = the_registry();
  auto it = r.by_fn.find(fn);
  return it == r.by_fn.end() ? nullptr : it->second;
}

const function_entry* find_method(const method_bytes& m) noexcept {
  auto& r = the_registry();
  auto it = r.by_method.find(m);
  return it == r.by_method.end() ? nullptr : it->second;
}

const function_entry* find_function(std::string_view name) noexcept {
  auto& r = the_registry();
  auto it = r.by_name.find(name);
  return it == r.by_name.end() ? nullptr : it->second.get();
}

std::vector<std::string> registered_function_names() {
  std::vector<std::string> out;
  for (auto& [name, e] : the_registry().by_name)
    out.push_back(name);
  return out;
}

bool class_is_async(std::string_view class_name) noexcept {
  auto& classes = the_registry().async_classes;
  return classes.find(class_name) != classes.end();
}

void throw_unregistered(const void* fn) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%p", fn);
  throw unknown_function_error(std::string{"the function at "} + buf
                               + " is not registered: add TROUPE_REMOTE(fn) at "
                                 "namespace scope");
}

void throw_unknown_function(std::string_view name) {
  std::string known;
  for (auto& n : registered_function_names())
    known += (known.empty() ? "" : ", ") + n;
  throw unknown_function_error("no function named '" + std::string{name}
                               + "' is registered (registered: "
                               + (known.empty() ? "none" : known) + ")");
}

void check_dynamic_call(const function_entry& fn, const std::vector<type_ref>& args,
                        const type_ref& result) {
  if (args.size() != fn.params.size())
    throw argument_type_error("function '" + fn.name + "' takes "
                              + std::to_string(fn.params.size())
                              + " arguments, " + std::to_string(args.size())
                              + " were given");
  for (std::size_t i = 0; i < args.size(); ++i)
    if (args[i].hash != fn.params[i].hash)
      throw argument_type_error("argument " + std::to_string(i + 1) + " of '"
                                + fn.name + "' must be "
                                + std::string{fn.params[i].name} + ", not "
                                + std::string{args[i].name});
  if (result.hash != fn.result.hash)
    throw argument_type_error("function '" + fn.name + "' returns "
                              + std::string{fn.result.name} + ", not "
                              + std::string{result.name});
}

} // namespace troupe::detail
