#include "ingress.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <httplib.h>

#include "replica.hpp"
#include "router.hpp"
#include "troupe/get.hpp"

namespace troupe::serve::detail {

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// How long a request waits for a replica, and for its answer.
constexpr auto pick_timeout = 30s;
constexpr auto answer_timeout = 60s;
/// How often a request is sent again after its replica died with it.
constexpr int max_attempts = 4;

target target_of(const deployment_spec& s) {
  return {s.route,        s.version,      s.num_replicas,
          s.autoscaling,  s.min_replicas, s.max_replicas,
          s.target_ongoing_requests, s.downscale_delay_s};
}

actor_options replica_options(const deployment_spec& s) {
  actor_options o;
  o.num_cpus = s.num_cpus;
  o.num_gpus = s.num_gpus;
  o.resources = s.resources;
  o.max_concurrency = s.max_concurrency;
  return o;
}

/// Returns whether `b` runs other replicas than `a` (not only more or fewer).
bool changes_replicas(const deployment_spec& a, const deployment_spec& b) {
  return a.version != b.version || a.factory != b.factory || a.method != b.method
         || a.init_args != b.init_args || a.num_cpus != b.num_cpus || a.num_gpus != b.num_gpus
         || a.resources != b.resources || a.max_concurrency != b.max_concurrency;
}

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

} // namespace

class ingress_core {
public:
  ingress_core(const std::string& host, std::int64_t port, std::int64_t threads) {
    auto n = static_cast<std::size_t>(std::max<std::int64_t>(1, threads));
    server_.new_task_queue = [n] { return new httplib::ThreadPool(n); };
    server_.set_tcp_nodelay(true); // else Nagle holds small answers for a delayed ACK
    install_routes();
    int bound = port == 0 ? server_.bind_to_any_port(host)
                          : (server_.bind_to_port(host, static_cast<int>(port))
                               ? static_cast<int>(port)
                               : -1);
    if (bound < 0)
      throw std::runtime_error("troupe::serve: cannot listen for HTTP on " + host + ":"
                               + std::to_string(port));
    port_ = bound;
    http_ = std::thread{[this] { server_.listen_after_bind(); }};
    control_ = std::thread{[this] { control_loop(); }};
  }

  ~ingress_core() { stop(); }

  std::int64_t port() const { return port_; }

  std::string deploy(const deployment_spec& spec) {
    std::unique_lock lk(mtx_);
    auto t = target_of(spec);
    // Replicas are replaced when what they run changes, even under the same
    // version name: the router's version is the name and a generation.
    auto& gen = generations_[spec.name];
    if (auto it = specs_.find(spec.name); it == specs_.end() || changes_replicas(it->second, spec))
      ++gen;
    t.version = spec.version + "#" + std::to_string(gen);
    specs_[spec.name] = spec;
    router_.set_target(spec.name, t);
    cv_.notify_all();
    auto until = clock_type::now() + 120s;
    for (;;) {
      if (router_.converged(spec.name))
        return "";
      if (router_.start_failures(spec.name) >= 3)
        return "troupe::serve: the replicas of deployment \"" + spec.name
               + "\" cannot start: " + router_.deployments().at(spec.name).last_error;
      if (cv_.wait_until(lk, until) == std::cv_status::timeout && clock_type::now() >= until)
        return "troupe::serve: deployment \"" + spec.name + "\" did not start in 120 s";
    }
  }

  void remove(const std::string& name) {
    std::vector<actor_handle<replica>> doomed;
    {
      std::lock_guard lk(mtx_);
      specs_.erase(name);
      for (auto id : router_.remove(name))
        take_handle(id, doomed);
    }
    kill_all(doomed);
  }

  std::vector<deployment_status> status() const {
    std::lock_guard lk(mtx_);
    std::vector<deployment_status> out;
    for (auto& [name, d] : router_.deployments()) {
      deployment_status row;
      row.name = name;
      row.route = d.goal.route;
      row.version = specs_.at(name).version;
      row.last_error = d.last_error;
      for (auto& r : d.replicas) {
        row.replicas += r.state == replica_state::active;
        row.starting += r.state == replica_state::starting;
        row.draining += r.state == replica_state::draining;
        row.outstanding += r.outstanding;
      }
      row.requests = d.requests;
      row.failed = d.failed;
      out.push_back(std::move(row));
    }
    return out;
  }

  std::vector<std::int64_t> replica_pids(const std::string& name) const {
    std::vector<actor_handle<replica>> serving;
    {
      std::lock_guard lk(mtx_);
      if (auto it = router_.deployments().find(name); it != router_.deployments().end())
        for (auto& r : it->second.replicas)
          if (r.state == replica_state::active)
            serving.push_back(handles_.at(r.id));
    }
    std::vector<std::int64_t> out;
    for (auto& h : serving)
      out.push_back(troupe::get(h.task(&replica::pid).remote(), answer_timeout));
    return out;
  }

  void stop() {
    if (stopped_.exchange(true))
      return;
    server_.stop();
    if (http_.joinable())
      http_.join();
    {
      std::lock_guard lk(mtx_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (control_.joinable())
      control_.join();
    std::vector<actor_handle<replica>> all;
    for (auto& [id, h] : handles_)
      all.push_back(h);
    handles_.clear();
    kill_all(all);
  }

private:
  void install_routes() {
    server_.Get("/-/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", "text/plain");
    });
    server_.Get("/-/routes", [this](const httplib::Request&, httplib::Response& res) {
      json routes = json::object();
      std::lock_guard lk(mtx_);
      for (auto& [name, d] : router_.deployments())
        routes[d.goal.route] = name;
      reply(res, 200, routes);
    });
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      serve_request(req, res);
    };
    server_.Get(".*", handler);
    server_.Post(".*", handler);
    server_.Put(".*", handler);
    server_.Delete(".*", handler);
  }

  void serve_request(const httplib::Request& req, httplib::Response& res) {
    std::string name;
    {
      std::lock_guard lk(mtx_);
      auto found = router_.route(req.path);
      if (!found)
        return reply(res, 404, {{"error", "troupe::serve: no deployment serves " + req.path}});
      name = *found;
    }
    json body; // an empty body is null
    if (!req.body.empty()) {
      body = json::parse(req.body, nullptr, false);
      if (body.is_discarded())
        return reply(res, 400, {{"error", "troupe::serve: the request body is no JSON"}});
    }
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
      auto picked = pick(name);
      if (!picked)
        return reply(res, 503, {{"error", "troupe::serve: no replica of \"" + name
                                            + "\" is serving"}});
      auto [id, h] = *picked;
      try {
        auto out = troupe::get(h.task(&replica::handle).remote(body), answer_timeout);
        finish(name, id, false, false);
        return reply(res, 200, out);
      } catch (const actor_died_error&) {
        finish(name, id, false, true); // sent again, to another replica
      } catch (const task_error& e) {
        finish(name, id, true, false);
        return reply(res, 500, {{"error", e.message()}, {"type", e.exception_type()},
                                {"deployment", name}});
      } catch (const std::exception& e) {
        finish(name, id, true, false);
        return reply(res, 500, {{"error", e.what()}, {"deployment", name}});
      }
    }
    reply(res, 503, {{"error", "troupe::serve: the replicas of \"" + name + "\" died with the "
                                 "request " + std::to_string(max_attempts) + " times"}});
  }

  /// Waits for a replica of `name` to take a request.
  std::optional<std::pair<std::uint64_t, actor_handle<replica>>> pick(const std::string& name) {
    std::unique_lock lk(mtx_);
    auto until = clock_type::now() + pick_timeout;
    for (;;) {
      if (auto id = router_.pick(name))
        return std::make_pair(*id, handles_.at(*id));
      if (stopping_ || cv_.wait_until(lk, until) == std::cv_status::timeout)
        return std::nullopt;
    }
  }

  void finish(const std::string& name, std::uint64_t id, bool failed, bool died) {
    std::lock_guard lk(mtx_);
    router_.done(name, id, failed, died);
    if (died) {
      handles_.erase(id);
      names_.erase(id);
      cv_.notify_all(); // the control loop starts another
    }
  }

  void take_handle(std::uint64_t id, std::vector<actor_handle<replica>>& into) {
    names_.erase(id);
    readying_.erase(id);
    if (auto it = handles_.find(id); it != handles_.end()) {
      into.push_back(std::move(it->second));
      handles_.erase(it);
    }
  }

  static void kill_all(const std::vector<actor_handle<replica>>& doomed) {
    for (auto& h : doomed) {
      try {
        troupe::kill(h);
      } catch (const std::exception&) { // gone already
      }
    }
  }

  void control_loop() {
    std::unique_lock lk(mtx_);
    while (!stopping_) {
      cv_.wait_for(lk, 20ms);
      if (stopping_)
        break;
      check_ready(lk);
      auto steps = router_.plan(clock_type::now());
      std::vector<actor_handle<replica>> doomed;
      for (auto id : steps.kills)
        take_handle(id, doomed);
      std::vector<std::pair<plan_steps::start, deployment_spec>> starts;
      for (auto& s : steps.starts)
        starts.emplace_back(s, specs_.at(s.deployment));
      lk.unlock();
      kill_all(doomed);
      for (auto& [s, spec] : starts)
        start_replica(s, spec);
      lk.lock();
      cv_.notify_all();
    }
  }

  /// Moves the replicas whose ready() answered to active (or gone).
  void check_ready(std::unique_lock<std::mutex>& lk) {
    if (readying_.empty())
      return;
    std::vector<std::uint64_t> ids;
    std::vector<object_ref<bool>> refs;
    for (auto& [id, r] : readying_) {
      ids.push_back(id);
      refs.push_back(r);
    }
    lk.unlock();
    auto w = troupe::wait(refs, refs.size(), 0ms);
    std::vector<std::pair<std::uint64_t, std::string>> answered;
    for (std::size_t k = 0; k < refs.size(); ++k) {
      if (std::find(w.ready.begin(), w.ready.end(), refs[k]) == w.ready.end())
        continue;
      try {
        troupe::get(refs[k]);
        answered.emplace_back(ids[k], "");
      } catch (const std::exception& e) {
        answered.emplace_back(ids[k], e.what());
      }
    }
    lk.lock();
    std::vector<actor_handle<replica>> doomed;
    for (auto& [id, why] : answered) {
      auto it = names_.find(id);
      if (it == names_.end())
        continue;
      readying_.erase(id);
      if (why.empty()) {
        router_.ready(it->second, id);
      } else {
        router_.start_failed(it->second, id, why);
        take_handle(id, doomed);
      }
    }
    if (!doomed.empty()) {
      lk.unlock();
      kill_all(doomed);
      lk.lock();
    }
  }

  void start_replica(const plan_steps::start& s, const deployment_spec& spec) {
    std::string failure;
    actor_handle<replica> h;
    object_ref<bool> ready;
    try {
      h = troupe::actor(make_replica, replica_options(spec))
            .remote(spec.factory, spec.method, spec.init_args);
      ready = h.task(&replica::ready).remote();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    std::lock_guard lk(mtx_);
    if (!failure.empty()) {
      router_.start_failed(s.deployment, s.id, failure);
      return;
    }
    handles_[s.id] = h;
    names_[s.id] = s.deployment;
    readying_[s.id] = ready;
  }

  httplib::Server server_;
  std::int64_t port_ = 0;
  std::thread http_;
  std::thread control_;
  std::atomic<bool> stopped_{false};

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  router router_;
  std::map<std::string, deployment_spec> specs_;
  std::map<std::string, std::uint64_t> generations_; ///< by deployment: replaced replicas
  std::map<std::uint64_t, actor_handle<replica>> handles_;
  std::map<std::uint64_t, std::string> names_;
  std::map<std::uint64_t, object_ref<bool>> readying_;
};

ingress::ingress(const std::string& host, std::int64_t port, std::int64_t threads)
    : core_(std::make_unique<ingress_core>(host, port, threads)) {}

ingress::~ingress() = default;

std::int64_t ingress::port() const {
  return core_->port();
}

std::string ingress::deploy(deployment_spec spec) {
  return core_->deploy(spec);
}

void ingress::remove(std::string name) {
  core_->remove(name);
}

std::vector<deployment_status> ingress::status() const {
  return core_->status();
}

std::vector<std::int64_t> ingress::replica_pids(std::string name) const {
  return core_->replica_pids(name);
}

void ingress::stop() {
  core_->stop();
}

std::unique_ptr<ingress> make_ingress(std::string host, std::int64_t port,
                                      std::int64_t threads) {
  return std::make_unique<ingress>(host, port, threads);
}

TROUPE_REMOTE_AS("troupe::serve::ingress", make_ingress);
TROUPE_REMOTE_AS("troupe::serve::ingress::port", &ingress::port);
TROUPE_REMOTE_AS("troupe::serve::ingress::deploy", &ingress::deploy);
TROUPE_REMOTE_AS("troupe::serve::ingress::remove", &ingress::remove);
TROUPE_REMOTE_AS("troupe::serve::ingress::status", &ingress::status);
TROUPE_REMOTE_AS("troupe::serve::ingress::replica_pids", &ingress::replica_pids);
TROUPE_REMOTE_AS("troupe::serve::ingress::stop", &ingress::stop);

} // namespace troupe::serve::detail
