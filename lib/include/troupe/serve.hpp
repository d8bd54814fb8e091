#pragma once

// Serving (Ray Serve): a deployment is a class whose instances are replica
// actors behind a router; an HTTP ingress maps routes to deployments, JSON
// in and JSON out.
//
//     class classifier {
//     public:
//       explicit classifier(troupe::serve::json args);          // loads the model
//       troupe::serve::json predict(troupe::serve::json request);
//     };
//     std::unique_ptr<classifier> make_classifier(troupe::serve::json args);
//     TROUPE_REMOTE(make_classifier);
//     TROUPE_REMOTE(&classifier::predict);
//
//     auto s = troupe::serve::start({.port = 8000});
//     s.deploy(troupe::serve::deployment("classifier", make_classifier,
//                                        &classifier::predict,
//                                        {.route = "/classify", .num_replicas = 2}));
//     // curl -d '{"text": "great"}' http://127.0.0.1:8000/classify
//
// The ingress is an actor: its process runs the HTTP server and the router,
// which sends each request to the replica with the fewest requests
// outstanding. Replicas scale between `min_replicas` and `max_replicas` on
// their queue length; one that dies is replaced and its requests are sent
// again; `deploy` of a new version starts the new replicas before it drains
// the old ones, so no request fails.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <nlohmann/json.hpp>

#include "troupe/actor.hpp"
#include "troupe/codec.hpp"

namespace troupe {

namespace serve {
/// What requests and responses are: nlohmann's JSON value.
using json = nlohmann::json;
} // namespace serve

namespace detail {

/// JSON values as MessagePack bytes.
template <>
struct codec<serve::json> {
  static constexpr encoding enc = encoding::caf_binary;
  static constexpr std::uint64_t type_hash = fnv1a("troupe.serve.json");
  static constexpr std::string_view name = "json";

  static void encode(const serve::json& x, encoded_value& out) {
    out.enc = enc;
    out.type_hash = type_hash;
    out.type_name = name;
    serve::json::to_msgpack(x, nlohmann::detail::output_adapter<char>(out.buffer));
  }

  static serve::json decode(const raw_value& v) {
    if (v.type_hash != type_hash)
      throw_type_mismatch(v.type_name, name);
    auto* p = reinterpret_cast<const std::uint8_t*>(v.data);
    auto j = serve::json::from_msgpack(p, p + v.size, true, false);
    if (j.is_discarded())
      throw_codec_error("cannot deserialize", name, "malformed MessagePack");
    return j;
  }
};

} // namespace detail

namespace serve {

/// How a deployment runs.
struct deployment_options {
  /// The HTTP path it serves, and every path below it ("/classify").
  std::string route;
  /// Its version, for `status`. A `deploy` that changes what the replicas
  /// run (the version, the class, `init_args`, their resources) replaces
  /// them without a failed request; one that changes only how many there
  /// are scales them.
  std::string version = "1";
  /// Replicas, when it does not autoscale.
  int num_replicas = 1;
  /// Scale between `min_replicas` and `max_replicas` so that each replica
  /// has about `target_ongoing_requests` requests outstanding; scale down
  /// only after `downscale_delay_s` seconds of less load.
  bool autoscaling = false;
  int min_replicas = 1;
  int max_replicas = 1;
  double target_ongoing_requests = 2;
  double downscale_delay_s = 10;
  /// The factory's argument (an empty object unless given).
  json init_args = json::object();
  /// Each replica's actor: its resources, and how many requests it runs at
  /// once (`max_concurrency`; 1: one at a time, the class needs no locks).
  actor_options replica_options;
};

/// A deployment: a registered class, its factory, the method that answers a
/// request, and its options.
class deployment {
public:
  template <class C>
  deployment(std::string name, std::unique_ptr<C> (*factory)(json), json (C::*method)(json),
             deployment_options options)
      : deployment(std::move(name), reinterpret_cast<const void*>(factory),
                   detail::bytes_of(method), std::move(options)) {}

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& factory_name() const noexcept { return factory_; }
  [[nodiscard]] const std::string& method_name() const noexcept { return method_; }
  [[nodiscard]] const deployment_options& options() const noexcept { return options_; }

private:
  deployment(std::string name, const void* factory, const detail::method_bytes& method,
             deployment_options options);

  std::string name_;
  std::string factory_;
  std::string method_;
  deployment_options options_;
};

/// How `start` runs the ingress.
struct start_options {
  /// Where the HTTP server listens (0: any free port; `instance::port()`).
  std::string host = "127.0.0.1";
  int port = 8000;
  /// Requests served at once (the server's threads).
  int http_threads = 32;
  /// The ingress actor's cluster-wide name: `connect` finds it.
  std::string name = "troupe-serve";
  /// Outlive this driver, until `shutdown`.
  bool detached = false;
};

/// One deployment as the ingress sees it.
struct deployment_status {
  std::string name;
  std::string route;
  std::string version;
  int replicas = 0;          ///< serving
  int starting = 0;
  int draining = 0;
  std::int64_t outstanding = 0;
  std::uint64_t requests = 0; ///< answered (any status)
  std::uint64_t failed = 0;   ///< answered with an error
  std::string last_error;     ///< why a replica failed to start, if one did

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, deployment_status& x) {
    return f(caf::meta::type_name("troupe.serve.deployment_status"), x.name, x.route,
             x.version, x.replicas, x.starting, x.draining, x.outstanding, x.requests,
             x.failed, x.last_error);
  }
};

namespace detail {
class ingress;
} // namespace detail

/// The serving instance of a cluster: its ingress actor.
class instance {
public:
  explicit instance(actor_handle<detail::ingress> ingress);

  /// Returns the HTTP port, and the URL of a route.
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string url(const std::string& route = "") const;

  /// Deploys `d`, or its new version: returns once its replicas serve (the
  /// old version's drained and gone). Throws `error` if its replicas cannot
  /// start (the factory's exception), naming the deployment.
  void deploy(const deployment& d);
  /// Stops serving the deployment named `name` and ends its replicas.
  void remove(const std::string& name);
  /// Returns every deployment's state.
  [[nodiscard]] std::vector<deployment_status> status() const;
  /// Returns the process ids of the deployment's serving replicas.
  [[nodiscard]] std::vector<int> replica_pids(const std::string& name) const;
  /// Stops the ingress and every replica.
  void shutdown();

private:
  actor_handle<detail::ingress> ingress_;
  std::uint16_t port_ = 0;
  std::string host_;
};

/// Starts the ingress (an actor, with its HTTP server); throws `error` if it
/// cannot listen.
instance start(const start_options& options = {});

/// Returns the running instance named `name` (started by any driver).
instance connect(const std::string& name = "troupe-serve");

} // namespace serve

} // namespace troupe
