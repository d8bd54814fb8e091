#pragma once

// A task's name, held by its task record and by the objects it returns.

#include <memory>
#include <string>
#include <string_view>

namespace troupe::detail {

struct function_entry;

/// A task's name, shared and immutable: the calls of one method on actors
/// of one name share one string, where each used to build its own
/// (`actor: method`, longer than the small-string buffer) and copy it into
/// its task record and its object. Copying one is a reference count.
class task_name {
public:
  task_name() = default;
  task_name(std::string s); // NOLINT: a name is a string
  task_name(const char* s) : task_name(std::string{s}) {} // NOLINT

  const std::string& str() const noexcept;
  operator const std::string&() const noexcept { return str(); } // NOLINT
  bool empty() const noexcept { return str().empty(); }

  friend bool operator==(const task_name& a, std::string_view b) noexcept {
    return a.str() == b;
  }

private:
  std::shared_ptr<const std::string> text_;
};

/// The name of a call of `fn`: `prefix: fn` (a method call, `prefix` being
/// its actor's name), or `fn` for an empty prefix. Names asked for again on
/// this thread come from a small cache, which bounds what it keeps.
task_name call_name(std::string_view prefix, const function_entry& fn);

/// `name`, shared with the calls on this thread that last used it.
task_name shared_name(const std::string& name);

} // namespace troupe::detail
