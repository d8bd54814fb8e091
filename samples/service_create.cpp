// Actors as microservices, part 1: creates the named, detached "kv" actor on
// a running cluster (TROUPE_ADDRESS) and exits; the actor stays.
#include <iostream>

#include <troupe/troupe.hpp>

#include "kv_service.hpp"

TROUPE_REMOTE(make_kv_store);
TROUPE_REMOTE(&kv_store::put);
TROUPE_REMOTE(&kv_store::get);

int main() {
  troupe::init(); // connects to TROUPE_ADDRESS; a detached actor needs a head
  troupe::actor_options o;
  o.name = "kv";
  o.name_space = "demo";
  o.detached = true; // outlives this program, until killed
  auto kv = troupe::actor(make_kv_store, o).remote();
  troupe::get(kv.task(&kv_store::put).remote("greeting", "hello from the first program"));
  std::cout << "created the 'kv' service and stored a greeting\n";
  troupe::shutdown();
}
