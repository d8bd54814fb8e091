#pragma once

// A task's name, held by its task record and by the objects it returns.

#include <memory>
#include <string>
#include <string_view>

namespace troupe::detail {

struct function_entry;

/// A task's name, immutable and cheap to copy. Most names are one of few:
/// a function's (which lives as long as the process) or `actor: method`
/// for actors of one name. Those are kept once for the process (interned)
/// and a name is a pointer to it: no string built per call, and no
/// reference count, which the submitting thread and the core would bounce
/// between them. A name past the interned set's bound is owned, shared by
/// its copies.
class task_name {
public:
  task_name() = default;
  task_name(std::string s); // NOLINT: a name is a string
  task_name(const char* s) : task_name(std::string{s}) {} // NOLINT

  /// A name that lives as long as the process (a function's, an interned one).
  static task_name fixed(const std::string& s) noexcept {
    task_name n;
    n.fixed_ = &s;
    return n;
  }

  const std::string& str() const noexcept;
  operator const std::string&() const noexcept { return str(); } // NOLINT
  bool empty() const noexcept { return str().empty(); }

  friend bool operator==(const task_name& a, std::string_view b) noexcept {
    return a.str() == b;
  }

private:
  const std::string* fixed_ = nullptr;
  std::shared_ptr<const std::string> owned_;
};

/// The name of a call of `fn`: `prefix: fn` (a method call, `prefix` being
/// its actor's name), or `fn`'s own for an empty prefix.
task_name call_name(std::string_view prefix, const function_entry& fn);

/// `name`, interned while the set of interned names has room.
task_name shared_name(const std::string& name);

/// How many names the process interns at most (past it, names are owned).
inline constexpr std::size_t max_interned_names = 10'000;

} // namespace troupe::detail
