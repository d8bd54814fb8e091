#pragma once

// The ingress of `troupe::serve`: an actor whose process runs the HTTP
// server (cpp-httplib, its own threads), the router (router.hpp) and the
// control loop that starts, replaces and ends replicas.
//
//     deploy(spec)      -> ""  once the deployment serves its target, else
//                          the error (its replicas cannot start)
//     remove(name)      -> its replicas are ended
//     status()          -> every deployment's state
//     replica_pids(name)-> the serving replicas' process ids
//     stop()            -> the server stops, every replica ends
//
//     HTTP  ANY <route>[/...]   the body (JSON; empty: null) to a replica of
//                               the deployment; 200 and its JSON, 400 for a
//                               body that is no JSON, 404 for no route, 500
//                               with {"error", "type"} if the method threw,
//                               503 if no replica served it in time
//           GET /-/routes       {route: deployment}
//           GET /-/healthz      "ok"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "troupe/serve.hpp"

namespace troupe::serve::detail {

/// A deployment as it travels to the ingress.
struct deployment_spec {
  std::string name;
  std::string factory;
  std::string method;
  std::string init_args; ///< JSON text
  std::string route;
  std::string version;
  std::int32_t num_replicas = 1;
  bool autoscaling = false;
  std::int32_t min_replicas = 1;
  std::int32_t max_replicas = 1;
  double target_ongoing_requests = 2;
  double downscale_delay_s = 10;
  double num_cpus = 0;
  double num_gpus = 0;
  std::map<std::string, double> resources;
  std::uint32_t max_concurrency = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, deployment_spec& x) {
    return f(caf::meta::type_name("troupe.serve.deployment_spec"), x.name, x.factory,
             x.method, x.init_args, x.route, x.version, x.num_replicas, x.autoscaling,
             x.min_replicas, x.max_replicas, x.target_ongoing_requests, x.downscale_delay_s,
             x.num_cpus, x.num_gpus, x.resources, x.max_concurrency);
  }
};

class ingress_core;

class ingress {
public:
  ingress(const std::string& host, std::int64_t port, std::int64_t threads);
  ~ingress();

  std::int64_t port() const;
  std::string deploy(deployment_spec spec);
  void remove(std::string name);
  std::vector<deployment_status> status() const;
  std::vector<std::int64_t> replica_pids(std::string name) const;
  void stop();

private:
  std::unique_ptr<ingress_core> core_;
};

std::unique_ptr<ingress> make_ingress(std::string host, std::int64_t port,
                                      std::int64_t threads);

} // namespace troupe::serve::detail
