#pragma once

// An actor class shared by the test scenarios (registered in test_main.cpp).

#include <memory>

#include <unistd.h>

#include "troupe/troupe.hpp"

namespace troupe::test {

class service_counter {
public:
  explicit service_counter(int start) : value_(start) {}
  int add(int by) { return value_ += by; }
  int pid() const { return static_cast<int>(::getpid()); }
  bool restarted() const { return troupe::was_current_actor_restarted(); }

private:
  int value_;
};

inline std::unique_ptr<service_counter> make_service_counter(int start) {
  return std::make_unique<service_counter>(start);
}

} // namespace troupe::test
