#include "troupe/serve.hpp"

#include <stdexcept>

#include "ingress.hpp"
#include "troupe/get.hpp"

namespace troupe::serve {

namespace {

using detail::ingress;

std::string registered(const void* factory) {
  auto* e = troupe::detail::find_function(factory);
  if (!e)
    troupe::detail::throw_unregistered(factory);
  return e->name;
}

detail::deployment_spec spec_of(const deployment& d) {
  auto& o = d.options();
  detail::deployment_spec s;
  s.name = d.name();
  s.factory = d.factory_name();
  s.method = d.method_name();
  s.init_args = o.init_args.dump();
  s.route = o.route.empty() ? "/" + d.name() : o.route;
  s.version = o.version;
  s.num_replicas = o.num_replicas;
  s.autoscaling = o.autoscaling;
  s.min_replicas = o.min_replicas;
  s.max_replicas = o.max_replicas;
  s.target_ongoing_requests = o.target_ongoing_requests;
  s.downscale_delay_s = o.downscale_delay_s;
  s.num_cpus = o.replica_options.num_cpus;
  s.num_gpus = o.replica_options.num_gpus;
  s.resources = o.replica_options.resources;
  s.max_concurrency = o.replica_options.max_concurrency;
  return s;
}

void check(const deployment_options& o, const std::string& name) {
  auto bad = [&](const std::string& why) {
    throw std::invalid_argument("troupe::serve: deployment \"" + name + "\": " + why);
  };
  if (!o.route.empty() && o.route.front() != '/')
    bad("its route \"" + o.route + "\" does not start with /");
  if (o.route.starts_with("/-/"))
    bad("routes under /-/ are the ingress's own");
  if (!o.autoscaling && o.num_replicas < 1)
    bad("num_replicas must be at least 1");
  if (o.autoscaling && (o.min_replicas < 1 || o.max_replicas < o.min_replicas))
    bad("autoscaling needs 1 <= min_replicas <= max_replicas");
  if (o.autoscaling && o.target_ongoing_requests <= 0)
    bad("target_ongoing_requests must be above 0");
}

} // namespace

deployment::deployment(std::string name, const void* factory,
                       const troupe::detail::method_bytes& method, deployment_options options)
    : name_(std::move(name)), factory_(registered(factory)), options_(std::move(options)) {
  auto* m = troupe::detail::find_method(method);
  if (!m)
    throw unknown_function_error("troupe::serve: the method of deployment \"" + name_
                                 + "\" is not registered (TROUPE_REMOTE(&Class::method))");
  method_ = m->name;
  check(options_, name_);
}

instance::instance(actor_handle<detail::ingress> ingress) : ingress_(std::move(ingress)) {
  port_ = static_cast<std::uint16_t>(
    troupe::get(ingress_.task(&ingress::port).remote(), std::chrono::seconds(60)));
  host_ = "127.0.0.1";
}

std::string instance::url(const std::string& route) const {
  return "http://" + host_ + ":" + std::to_string(port_) + route;
}

void instance::deploy(const deployment& d) {
  auto why = troupe::get(ingress_.task(&ingress::deploy).remote(spec_of(d)));
  if (!why.empty())
    throw error(error_kind::runtime, why);
}

void instance::remove(const std::string& name) {
  troupe::get(ingress_.task(&ingress::remove).remote(name));
}

std::vector<deployment_status> instance::status() const {
  return troupe::get(ingress_.task(&ingress::status).remote());
}

std::vector<int> instance::replica_pids(const std::string& name) const {
  std::vector<int> out;
  for (auto pid : troupe::get(ingress_.task(&ingress::replica_pids).remote(name)))
    out.push_back(static_cast<int>(pid));
  return out;
}

void instance::shutdown() {
  troupe::get(ingress_.task(&ingress::stop).remote());
  troupe::kill(ingress_);
}

instance start(const start_options& options) {
  actor_options o;
  o.name = options.name;
  o.detached = options.detached;
  // Its calls block (deploy waits for replicas): a status call must not
  // wait behind one.
  o.max_concurrency = 8;
  auto a = troupe::actor(detail::make_ingress, o)
             .remote(options.host, std::int64_t{options.port},
                     std::int64_t{options.http_threads});
  return instance{a};
}

instance connect(const std::string& name) {
  return instance{get_actor<detail::ingress>(name)};
}

} // namespace troupe::serve
