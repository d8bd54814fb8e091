#pragma once

// An actor class shared by the test scenarios (registered in test_main.cpp).

#include <chrono>
#include <memory>
#include <string>

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

/// Asks a service_counter whose instance died for its pid until a new
/// instance answers: a call that reached the dead one fails (no
/// max_task_retries) saying the actor restarts; later calls wait for the new
/// one. Returns the pid, or 0 after `limit`; a failure that does not say the
/// actor restarts ends the wait, and is left in `unexpected`.
template <class Handle>
int pid_once_rebuilt(const Handle& svc, std::chrono::seconds limit, std::string& unexpected) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    try {
      return troupe::get(svc.task(&service_counter::pid).remote(), limit);
    } catch (const troupe::actor_died_error& e) {
      if (std::string{e.what()}.find("restarting it") == std::string::npos) {
        unexpected = e.what();
        return 0;
      }
    }
  }
  return 0;
}

} // namespace troupe::test
