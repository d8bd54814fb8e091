// The Counter actor: an instance with state that lives in a worker process
// of its own. The driver increments it and reads it through a getter; calls
// from one caller run in the order they were sent.
#include <iostream>
#include <memory>
#include <vector>

#include <troupe/troupe.hpp>

class counter {
public:
  /// Adds one and returns the new value.
  int increment() { return ++value_; }
  /// The getter.
  int get_counter() const { return value_; }

private:
  int value_ = 0;
};

std::unique_ptr<counter> make_counter() {
  return std::make_unique<counter>();
}
TROUPE_REMOTE(make_counter);
TROUPE_REMOTE(&counter::increment);
TROUPE_REMOTE(&counter::get_counter);

int main() {
  troupe::init(); // workers branch off here: keep it first
  auto c = troupe::actor(make_counter).remote();

  std::cout << "counter starts at " << troupe::get(c.task(&counter::get_counter).remote())
            << "\n";

  // One increment at a time, reading the value back after each.
  for (int i = 0; i < 3; ++i) {
    troupe::get(c.task(&counter::increment).remote());
    std::cout << "after increment " << i + 1 << ": "
              << troupe::get(c.task(&counter::get_counter).remote()) << "\n";
  }

  // Ten increments sent at once: they run in order, so their results count up.
  std::vector<troupe::object_ref<int>> refs;
  for (int i = 0; i < 10; ++i)
    refs.push_back(c.task(&counter::increment).remote());
  std::cout << "ten increments returned:";
  for (auto v : troupe::get(refs))
    std::cout << ' ' << v;
  std::cout << "\n";

  auto final_value = troupe::get(c.task(&counter::get_counter).remote());
  std::cout << "final value: " << final_value << "\n";
  troupe::kill(c);
  troupe::shutdown();
  return final_value == 13 ? 0 : 1;
}
