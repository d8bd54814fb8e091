// A node daemon's options from the environment, and the address it
// advertises (node_daemon.hpp).
#include "actors/node_daemon.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include "lib/common/config.hpp"
#include "scheduler/resources.hpp"

namespace troupe {

std::string advertised_host(const std::string& bind) {
  if (bind != "0.0.0.0")
    return bind;
  std::string found = "127.0.0.1";
  ifaddrs* all = nullptr;
  if (::getifaddrs(&all) != 0)
    return found;
  for (auto* a = all; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || (a->ifa_flags & IFF_LOOPBACK)
        || !(a->ifa_flags & IFF_UP))
      continue;
    char text[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text))) {
      found = text;
      break;
    }
  }
  ::freeifaddrs(all);
  return found;
}

node_options node_options_from_env() {
  using detail::env_or;
  node_options o;
  o.bind = env_or("TROUPE_BIND", "127.0.0.1");
  o.port = static_cast<std::uint16_t>(std::stoi(env_or("TROUPE_PORT", "0")));
  o.resources = sched::parse_resources(env_or("TROUPE_RESOURCES", ""));
  auto cpus = std::stod(env_or("TROUPE_NUM_CPUS", "0"));
  auto gpus = std::stod(env_or("TROUPE_NUM_GPUS", "0"));
  if (cpus > 0)
    o.resources["CPU"] = cpus;
  if (gpus > 0)
    o.resources["GPU"] = gpus;
  o.object_store_bytes = std::stoull(env_or("TROUPE_OBJECT_STORE_BYTES", "0"));
  o.max_job_store_bytes = std::stoull(env_or("TROUPE_MAX_JOB_STORE_BYTES", "0"));
  o.worker_exe = env_or("TROUPE_WORKER_EXE", "");
  o.actor_hosts = std::stoull(env_or("TROUPE_ACTOR_HOSTS", "0"));
  o.max_actors_per_host = std::stoull(env_or("TROUPE_MAX_ACTORS_PER_HOST", "0"));
  o.ready_fd = std::stoi(env_or("TROUPE_READY_FD", "-1"));
  o.head_address = env_or("TROUPE_HEAD_ADDRESS", "");
  o.spill_dir = env_or("TROUPE_SPILL_DIR", "");
  o.state = env_or("TROUPE_STATE", "");
  o.head_grace_seconds = std::stoi(env_or("TROUPE_HEAD_GRACE", "60"));
  o.metrics_bind = env_or("TROUPE_METRICS_BIND", "127.0.0.1");
  o.metrics_port = std::stoi(env_or("TROUPE_METRICS_PORT", "0"));
  o.dashboard_bind = env_or("TROUPE_DASHBOARD_BIND", "127.0.0.1");
  o.dashboard_port = std::stoi(env_or("TROUPE_DASHBOARD_PORT", "8265"));
  return o;
}

} // namespace troupe
