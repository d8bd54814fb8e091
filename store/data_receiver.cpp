#include "store/data_receiver.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace troupe::store {

namespace {

/// Connects if need be and reads the job's bytes into place.
std::pair<bool, std::string> run(data_client& client, const receive_job& job) {
  auto why = client.connect(job.host, job.port, job.key);
  if (!why.empty())
    return {false, why};
  auto* dest = reinterpret_cast<std::byte*>(static_cast<std::uintptr_t>(job.dest));
  return {true, client.read(job.offset, job.id, job.start, job.length, dest)};
}

data_receiver_actor::behavior_type receiver_fn(data_receiver_actor::pointer self,
                                               std::shared_ptr<data_client> client,
                                               std::shared_ptr<object_store> store) {
  return {
      [client, store](pull_atom,
                      const receive_job& job) -> caf::result<bool, std::string> {
        auto [connected, why] = run(*client, job);
        try {
          // No partial copy is in the object directory: nothing to report
          // when this frees one.
          store->unpin(job.pin);
        } catch (const std::exception& e) {
          spdlog::warn("unpin of a pulled copy at offset {} failed: {}", job.pin,
                       e.what());
        }
        return {connected, std::move(why)};
      },
      [self](stop_atom) { self->quit(); },
  };
}

} // namespace

data_receiver_actor spawn_data_receiver(caf::actor_system& sys,
                                        std::shared_ptr<data_client> client,
                                        std::shared_ptr<object_store> store) {
  return sys.spawn<caf::detached>(receiver_fn, std::move(client), std::move(store));
}

} // namespace troupe::store
