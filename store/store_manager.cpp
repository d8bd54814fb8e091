#include "store/store_manager.hpp"

#include <filesystem>
#include <signal.h>

#include <caf/all.hpp>

#include "store/object_store.hpp"

namespace troupe::store {

namespace {

struct manager_state {
  std::shared_ptr<shm_allocator> segment;
  std::unique_ptr<object_store> store;
  static inline const char* name = "troupe.store_manager";
};

store_manager_actor::behavior_type
manager_fn(store_manager_actor::stateful_pointer<manager_state> self,
           std::shared_ptr<shm_allocator> segment) {
  self->state.segment = segment;
  self->state.store = std::make_unique<object_store>(*segment);
  return {
    [self](stats_atom) -> std::string {
      auto s = self->state.store->stats();
      return "{\"segment\":\"" + self->state.segment->name() + "\",\"capacity\":"
             + std::to_string(s.capacity) + ",\"free\":" + std::to_string(s.free_bytes)
             + ",\"objects\":" + std::to_string(s.live_objects)
             + ",\"bytes_in_use\":" + std::to_string(s.bytes_in_use) + "}";
    },
    [self](stop_atom) -> bool {
      shm_allocator::remove(self->state.segment->name());
      self->quit();
      return true;
    },
  };
}

} // namespace

store_manager_actor spawn_store_manager(caf::actor_system& sys,
                                        std::shared_ptr<shm_allocator> segment) {
  return sys.spawn(manager_fn, std::move(segment));
}

void remove_stale_segments() {
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    auto name = entry.path().filename().string();
    if (name.rfind("troupe-", 0) != 0)
      continue;
    auto dash = name.find('-', 7);
    if (dash == std::string::npos)
      continue;
    int pid = 0;
    try {
      pid = std::stoi(name.substr(7, dash - 7));
    } catch (...) {
      continue;
    }
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH)
      shm_allocator::remove(name);
  }
}

} // namespace troupe::store
