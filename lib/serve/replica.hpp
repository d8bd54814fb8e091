#pragma once

// A replica of any deployment: an actor that makes the user's instance with
// its registered factory and answers requests with its registered method,
// both found by name in this process's registry (so the ingress needs no
// template of the user's class).

#include <cstdint>
#include <memory>
#include <string>

#include "troupe/serve.hpp"

namespace troupe::serve::detail {

class replica {
public:
  replica(const std::string& factory, const std::string& method, const std::string& init_args);

  /// Answers once the instance is made (the factory ran in the constructor).
  bool ready() const { return true; }
  /// Answers one request with the deployment's method.
  json handle(json request);
  /// Returns this replica's process id.
  std::int64_t pid() const;

private:
  std::shared_ptr<void> instance_;
  const troupe::detail::function_entry* method_ = nullptr;
};

std::unique_ptr<replica> make_replica(std::string factory, std::string method,
                                      std::string init_args);

} // namespace troupe::serve::detail
