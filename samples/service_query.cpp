// Actors as microservices, part 2: finds the "kv" actor left by
// service_create, reads the greeting, and stops the service.
#include <iostream>

#include <troupe/troupe.hpp>

#include "kv_service.hpp"

TROUPE_REMOTE(make_kv_store);
TROUPE_REMOTE(&kv_store::put);
TROUPE_REMOTE(&kv_store::get);

int main() {
  troupe::init();
  auto kv = troupe::get_actor<kv_store>("kv", "demo");
  auto greeting = troupe::get(kv.task(&kv_store::get).remote("greeting"));
  std::cout << "the service says: " << greeting << '\n';
  troupe::kill(kv); // the service is detached: it lives until killed
  troupe::shutdown();
  return greeting.empty() ? 1 : 0;
}
